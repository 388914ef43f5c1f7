//! SMS roles (clause 5.3): the organizational roles that run the SMS, and who holds them.

use super::DomainError;
use super::validation::{Validator, dedup};
use crate::editable_fields;

editable_fields! {
    /// The editable fields of an SMS role.
    pub struct SmsRoleFields / SmsRolePatch {
        #[schema(example = "Service owner", min_length = 1, max_length = 120)]
        name: String,
        #[serde(default)]
        #[schema(max_length = 2000)]
        description: Option<String>,
        #[serde(default)]
        #[schema(max_items = 50)]
        responsibilities: Vec<String>,
        #[serde(default)]
        #[schema(max_items = 50)]
        authorities: Vec<String>,
        #[serde(default)]
        #[schema(max_items = 50)]
        required_competences: Vec<String>,
        /// Users who hold the role.
        #[serde(default)]
        #[schema(max_items = 200, value_type = Vec<uuid::Uuid>)]
        member_ids: Vec<String>,
    }
}

pub const MAX_LIST_ITEMS: usize = 50;
pub const MAX_MEMBERS: usize = 200;

pub fn validate(input: SmsRoleFields) -> Result<SmsRoleFields, DomainError> {
    let mut v = Validator::new();
    let name = v.required_text("name", &input.name, 120);
    let description = v.optional_text("description", input.description.as_deref(), 2000);
    let responsibilities = v.text_list(
        "responsibilities",
        &input.responsibilities,
        MAX_LIST_ITEMS,
        500,
    );
    let authorities = v.text_list("authorities", &input.authorities, MAX_LIST_ITEMS, 500);
    let required_competences = v.text_list(
        "required_competences",
        &input.required_competences,
        MAX_LIST_ITEMS,
        200,
    );
    if input.member_ids.len() > MAX_MEMBERS {
        v.add(
            "member_ids",
            format!("must have at most {MAX_MEMBERS} items"),
        );
    }
    v.finish()?;
    Ok(SmsRoleFields {
        name,
        description,
        responsibilities,
        authorities,
        required_competences: dedup(&required_competences),
        member_ids: dedup(&input.member_ids),
    })
}

/// A role that owns processes or appears in a RACI cannot go: `references` counts both.
pub fn ensure_deletable((owned, in_raci): (u64, u64)) -> Result<(), DomainError> {
    if owned + in_raci > 0 {
        return Err(DomainError::Conflict(format!(
            "the role owns {owned} process(es) and appears in {in_raci} RACI assignment(s); reassign them first"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_dedups() {
        let r = validate(SmsRoleFields {
            name: " Service owner ".into(),
            description: None,
            responsibilities: vec![" Owns the service ".into()],
            authorities: vec![],
            required_competences: vec!["ITIL".into(), "ITIL".into()],
            member_ids: vec!["a".into(), "a".into()],
        })
        .unwrap();
        assert_eq!(r.name, "Service owner");
        assert_eq!(r.responsibilities, vec!["Owns the service"]);
        assert_eq!(r.required_competences, vec!["ITIL"]);
        assert_eq!(r.member_ids, vec!["a"]);
    }

    #[test]
    fn empty_items_are_refused() {
        let r = validate(SmsRoleFields {
            name: "".into(),
            description: None,
            responsibilities: vec!["".into()],
            authorities: vec![],
            required_competences: vec![],
            member_ids: vec![],
        });
        let Err(DomainError::Validation(errors)) = r else {
            panic!()
        };
        assert_eq!(errors[0].field, "name");
        assert_eq!(errors[1].field, "responsibilities[0]");
    }
}
