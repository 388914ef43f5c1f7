//! Workflows as tables of transitions. One pure `decide()` answers a request and
//! `allowed_actions()` draws the caller's buttons from the same table, so they cannot disagree.

use super::DomainError;
use super::access::{AccessRole, Principal};

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

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// Who may take an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// Anyone holding this access role (or one that includes it).
    Role(AccessRole),
    /// The user the object is assigned to, if they hold at least `contributor`.
    Assignee,
}

/// What the workflow needs to know about the caller's relation to the object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Relation {
    pub is_assignee: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct Transition<S: 'static, A: 'static> {
    pub from: S,
    pub action: A,
    pub to: S,
    pub who: &'static [Actor],
}

fn may<S, A>(t: &Transition<S, A>, caller: &Principal, relation: Relation) -> bool {
    t.who.iter().any(|actor| match actor {
        Actor::Role(role) => caller.has(*role),
        Actor::Assignee => relation.is_assignee && caller.has(AccessRole::Contributor),
    })
}

pub trait WorkflowValue: Copy + PartialEq + std::fmt::Display {}
impl<T: Copy + PartialEq + std::fmt::Display> WorkflowValue for T {}

/// The state `action` leads to from `state`, if the caller may take it.
/// Not possible in this state → `InvalidTransition` (with the caller's allowed actions);
/// possible but not for this caller → `Forbidden`.
pub fn decide<S: WorkflowValue, A: WorkflowValue>(
    table: &[Transition<S, A>],
    state: S,
    action: A,
    caller: &Principal,
    relation: Relation,
) -> Result<S, DomainError> {
    let candidates: Vec<_> = table
        .iter()
        .filter(|t| t.from == state && t.action == action)
        .collect();
    if candidates.is_empty() {
        return Err(DomainError::InvalidTransition {
            action: action.to_string(),
            state: state.to_string(),
            allowed: allowed_actions(table, state, caller, relation)
                .iter()
                .map(ToString::to_string)
                .collect(),
        });
    }
    candidates
        .into_iter()
        .find(|t| may(t, caller, relation))
        .map(|t| t.to)
        .ok_or_else(|| DomainError::Forbidden(format!("{action} this {state} record")))
}

/// The actions the caller may take now, in table order, without repeats.
pub fn allowed_actions<S: WorkflowValue, A: WorkflowValue>(
    table: &[Transition<S, A>],
    state: S,
    caller: &Principal,
    relation: Relation,
) -> Vec<A> {
    let mut out: Vec<A> = Vec::new();
    for t in table {
        if t.from == state && may(t, caller, relation) && !out.contains(&t.action) {
            out.push(t.action);
        }
    }
    out
}
