//! Field-level validation shared by every resource.

use serde::Serialize;

use super::DomainError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Collects every problem of a request so the client sees them all at once.
#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// A trimmed, non-empty, single-line text of at most `max` characters (names, codes):
    /// no control characters at all.
    pub fn required_text(&mut self, field: &str, value: &str, max: usize) -> String {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            self.add(field, "must not be empty");
        } else if trimmed.chars().count() > max {
            self.add(field, format!("must be at most {max} characters"));
        } else if trimmed.chars().any(char::is_control) {
            self.add(field, "must not contain control characters");
        }
        trimmed.to_string()
    }

    /// Optional free text (descriptions, notes): blank becomes `None`; tabs and line breaks
    /// are kept, other control characters refused.
    pub fn optional_text(
        &mut self,
        field: &str,
        value: Option<&str>,
        max: usize,
    ) -> Option<String> {
        let trimmed = value.map(str::trim).filter(|v| !v.is_empty())?;
        if trimmed.chars().count() > max {
            self.add(field, format!("must be at most {max} characters"));
        } else if trimmed
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        {
            self.add(
                field,
                "must not contain control characters other than tab and line breaks",
            );
        }
        Some(trimmed.to_string())
    }

    /// A list of non-empty texts, each at most `max_len` characters, at most `max_items` of them.
    pub fn text_list(
        &mut self,
        field: &str,
        values: &[String],
        max_items: usize,
        max_len: usize,
    ) -> Vec<String> {
        if values.len() > max_items {
            self.add(field, format!("must have at most {max_items} items"));
        }
        values
            .iter()
            .enumerate()
            .map(|(i, v)| self.required_text(&format!("{field}[{i}]"), v, max_len))
            .collect()
    }

    pub fn check(&mut self, ok: bool, field: &str, message: &str) {
        if !ok {
            self.add(field, message);
        }
    }

    pub fn finish(self) -> Result<(), DomainError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Validation(self.errors))
        }
    }
}

/// Removes repeated entries, keeping the first occurrence's order.
pub fn dedup<T: PartialEq + Clone>(values: &[T]) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(values.len());
    for v in values {
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_all_errors() {
        let mut v = Validator::new();
        v.required_text("name", "  ", 10);
        v.required_text("code", "abcdefghijkl", 10);
        let Err(DomainError::Validation(errors)) = v.finish() else {
            panic!("expected errors")
        };
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].field, "name");
        assert_eq!(errors[1].field, "code");
    }

    #[test]
    fn blank_optional_text_is_none() {
        let mut v = Validator::new();
        assert_eq!(v.optional_text("d", Some("   "), 5), None);
        assert_eq!(v.optional_text("d", Some(" x "), 5).as_deref(), Some("x"));
        assert!(v.finish().is_ok());
    }

    #[test]
    fn control_characters_are_refused_except_breaks_in_free_text() {
        let mut v = Validator::new();
        v.required_text("name", "a\u{0}b", 10);
        v.required_text("code", "a\tb", 10);
        v.optional_text("description", Some("a\u{7}b"), 10);
        v.text_list("items", &["x\ny".to_string()], 5, 10);
        let Err(DomainError::Validation(errors)) = v.finish() else {
            panic!("expected errors")
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "code", "description", "items[0]"]);

        let mut v = Validator::new();
        let kept = v.optional_text("description", Some("line 1\r\n\tline 2"), 50);
        assert_eq!(kept.as_deref(), Some("line 1\r\n\tline 2"));
        assert!(v.finish().is_ok());
    }

    #[test]
    fn dedup_keeps_order() {
        assert_eq!(dedup(&[3, 1, 3, 2, 1]), vec![3, 1, 2]);
    }
}
