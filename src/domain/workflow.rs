//! Workflows as tables of transitions. One pure `decide()` answers a request and
//! `allowed_actions()` draws the caller's buttons from the same table, so they cannot disagree.

use super::DomainError;
use super::access::{AccessRole, Principal};
use super::validation::FieldError;

/// Declares an enum stored and sent as fixed lowercase text.
#[macro_export]
macro_rules! text_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        $vis enum $name { $(#[serde(rename = $text)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == text)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl $crate::domain::fields::PatchField for $name {
            type Patch = $name;
            fn patched(patch: $name) -> $name {
                patch
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::domain::workflow::TextEnum for $name {
            const ALL: &'static [$name] = $name::ALL;
            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }
        }
    };
}

/// What `text_enum!` declares, for code that handles any of them.
pub trait TextEnum: Copy + 'static {
    const ALL: &'static [Self];
    fn as_str(self) -> &'static str;

    fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.as_str() == text)
    }
}

/// Who may take an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// Anyone holding this access role (or one that includes it).
    Role(AccessRole),
    /// The user the record is assigned to, if they hold at least `contributor`.
    Assignee,
    /// The users the record is assigned to (an audit's team), if they hold this access role.
    AssigneeWith(AccessRole),
}

/// What the workflow needs to know about the caller's relation to the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation<A> {
    pub is_assignee: bool,
    /// The actions this caller has taken on the record (for separation of duties).
    pub performed: Vec<A>,
}

impl<A> Default for Relation<A> {
    fn default() -> Self {
        Relation {
            is_assignee: false,
            performed: Vec::new(),
        }
    }
}

/// A named condition on the record (`R`): a precondition, or the outcome that picks a row.
pub struct Need<R: 'static> {
    /// The field or fact it is about, as the client knows it.
    pub field: &'static str,
    /// What is missing when it does not hold.
    pub message: &'static str,
    pub holds: fn(&R) -> bool,
}

/// One row of a workflow: `who` may take `action` from `from` to `to`, except whoever took
/// `not_after` on the record, once every `needs` holds. Rows with the same `from` and
/// `action` are told apart by `when` (an outcome, such as a verification's verdict).
pub struct Transition<S: 'static, A: 'static, R: 'static> {
    pub from: S,
    pub action: A,
    pub to: S,
    pub who: &'static [Actor],
    pub not_after: Option<A>,
    pub needs: &'static [Need<R>],
    pub when: Option<Need<R>>,
}

impl<S: WorkflowValue, A: WorkflowValue, R> Transition<S, A, R> {
    /// Whether the caller may take this row's action (whatever the record holds).
    pub fn permits(&self, caller: &Principal, relation: &Relation<A>) -> bool {
        let by_role = self.who.iter().any(|actor| match actor {
            Actor::Role(role) => caller.has(*role),
            Actor::Assignee => relation.is_assignee && caller.has(AccessRole::Contributor),
            Actor::AssigneeWith(role) => relation.is_assignee && caller.has(*role),
        });
        let excluded = self
            .not_after
            .is_some_and(|a| relation.performed.contains(&a));
        by_role && !excluded
    }

    fn applies_to(&self, record: &R) -> bool {
        self.when.as_ref().is_none_or(|w| (w.holds)(record))
    }
}

pub trait WorkflowValue: Copy + PartialEq + std::fmt::Display {}
impl<T: Copy + PartialEq + std::fmt::Display> WorkflowValue for T {}

/// The state `action` leads to from `state`, for this caller and this record (`record` holds
/// what the request brings already applied).
/// - not possible in this state → `InvalidTransition`, with the caller's allowed actions;
/// - possible, but not for this caller → `Forbidden`;
/// - the outcome or a precondition missing → `PreconditionMissing`, naming each.
pub fn decide<S: WorkflowValue, A: WorkflowValue, R>(
    table: &[Transition<S, A, R>],
    state: S,
    action: A,
    caller: &Principal,
    relation: &Relation<A>,
    record: &R,
) -> Result<S, DomainError> {
    let rows: Vec<_> = table
        .iter()
        .filter(|t| t.from == state && t.action == action)
        .collect();
    if rows.is_empty() {
        return Err(DomainError::InvalidTransition {
            action: action.to_string(),
            state: state.to_string(),
            allowed: allowed_actions(table, state, caller, relation)
                .iter()
                .map(ToString::to_string)
                .collect(),
        });
    }
    let permitted: Vec<_> = rows
        .into_iter()
        .filter(|t| t.permits(caller, relation))
        .collect();
    let Some(first) = permitted.first() else {
        return Err(DomainError::Forbidden(format!(
            "{action} this {state} record"
        )));
    };
    let Some(row) = permitted.iter().find(|t| t.applies_to(record)) else {
        let outcome = first
            .when
            .as_ref()
            .expect("rows without `when` always apply");
        return Err(missing([outcome]));
    };
    let unmet: Vec<_> = row.needs.iter().filter(|n| !(n.holds)(record)).collect();
    if !unmet.is_empty() {
        return Err(missing(unmet));
    }
    Ok(row.to)
}

fn missing<'a, R: 'static>(needs: impl IntoIterator<Item = &'a Need<R>>) -> DomainError {
    DomainError::PreconditionMissing(
        needs
            .into_iter()
            .map(|n| FieldError::new(n.field, n.message))
            .collect(),
    )
}

/// The actions the caller may take now, in table order, without repeats. Preconditions are
/// not looked at: a button stays visible and its answer names what is missing.
pub fn allowed_actions<S: WorkflowValue, A: WorkflowValue, R>(
    table: &[Transition<S, A, R>],
    state: S,
    caller: &Principal,
    relation: &Relation<A>,
) -> Vec<A> {
    let mut out: Vec<A> = Vec::new();
    for t in table {
        if t.from == state && t.permits(caller, relation) && !out.contains(&t.action) {
            out.push(t.action);
        }
    }
    out
}

/// Checks `decide` and `allowed_actions` against the table itself over every state, action
/// and access role, for a record where every precondition holds (`complete`) and one where
/// none does (`empty`). The table is the only statement of the rules.
#[cfg(test)]
pub fn check_exhaustively<
    S: WorkflowValue + std::fmt::Debug,
    A: WorkflowValue + std::fmt::Debug,
    R,
>(
    table: &[Transition<S, A, R>],
    states: &[S],
    actions: &[A],
    complete: &R,
    empty: &R,
) {
    for &state in states {
        for &action in actions {
            for &role in AccessRole::ALL {
                let caller = Principal {
                    user_id: "u".into(),
                    roles: vec![role],
                };
                let relation = Relation::default();
                let rows: Vec<_> = table
                    .iter()
                    .filter(|t| t.from == state && t.action == action)
                    .collect();
                let permitted: Vec<_> = rows
                    .iter()
                    .filter(|t| t.permits(&caller, &relation))
                    .collect();
                let allowed = allowed_actions(table, state, &caller, &relation);
                assert_eq!(allowed.contains(&action), !permitted.is_empty());
                let result = decide(table, state, action, &caller, &relation, complete);
                match (rows.is_empty(), permitted.first()) {
                    (true, _) => assert!(
                        matches!(result, Err(DomainError::InvalidTransition { .. })),
                        "{state} {action} {role:?}: {result:?}"
                    ),
                    (false, None) => assert!(
                        matches!(result, Err(DomainError::Forbidden(_))),
                        "{state} {action} {role:?}: {result:?}"
                    ),
                    (false, Some(_)) => {
                        let expected = permitted
                            .iter()
                            .find(|t| t.applies_to(complete))
                            .map(|t| t.to);
                        match expected {
                            Some(to) => assert_eq!(result, Ok(to), "{state} {action} {role:?}"),
                            None => {
                                assert!(matches!(result, Err(DomainError::PreconditionMissing(_))))
                            }
                        }
                        let bare = decide(table, state, action, &caller, &relation, empty);
                        let needs_something = permitted
                            .iter()
                            .all(|t| t.when.is_some() || !t.needs.is_empty());
                        assert_eq!(
                            matches!(bare, Err(DomainError::PreconditionMissing(_))),
                            needs_something,
                            "{state} {action} {role:?}: {bare:?}"
                        );
                    }
                }
            }
        }
    }
}
