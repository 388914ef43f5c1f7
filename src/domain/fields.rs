//! A resource's editable fields, declared once. `editable_fields!` makes from one list the
//! full shape (create bodies, stored input) and the merge-patch shape, whose schema is the
//! full one with nothing required, so the two cannot drift apart.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

/// How a field takes a merge-patch value (RFC 7396).
pub trait PatchField: Sized {
    /// What a patch may send for the field: `null` is only accepted where it means something.
    type Patch;
    fn patched(patch: Self::Patch) -> Self;
    /// The field after the patch; a nested object merges its patch into what it holds.
    fn merged(_current: Self, patch: Self::Patch) -> Self {
        Self::patched(patch)
    }
}

/// Required scalars: a patch replaces them; `null` is refused.
macro_rules! replaced_by_patch {
    ($($ty:ty),*) => {
        $(impl PatchField for $ty {
            type Patch = $ty;
            fn patched(patch: $ty) -> $ty { patch }
        })*
    };
}

replaced_by_patch!(String, bool, i32, i64, f64, NaiveDate, DateTime<Utc>);

/// Optional fields: `null` clears them.
impl<T> PatchField for Option<T> {
    type Patch = Option<T>;
    fn patched(patch: Option<T>) -> Self {
        patch
    }
}

/// Lists: `null` empties them.
impl<T> PatchField for Vec<T> {
    type Patch = Option<Vec<T>>;
    fn patched(patch: Option<Vec<T>>) -> Self {
        patch.unwrap_or_default()
    }
}

/// Tells a field sent as `null` (`Some(None)`) from an absent one (`None`).
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// The schema of a merge patch: the full shape with nothing required, and lists that may be
/// `null` (to empty them).
pub fn patch_schema(full: RefOr<Schema>, description: &str) -> RefOr<Schema> {
    let RefOr::T(Schema::Object(mut object)) = full else {
        return full;
    };
    object.required.clear();
    object.description = Some(description.to_string());
    for property in object.properties.values_mut() {
        if let RefOr::T(Schema::Array(array)) = property {
            array.schema_type = utoipa::openapi::schema::SchemaType::from_iter([
                utoipa::openapi::schema::Type::Array,
                utoipa::openapi::schema::Type::Null,
            ]);
        }
    }
    RefOr::T(Schema::Object(object))
}

/// Declares a resource's editable fields once:
/// `editable_fields! { /// doc
///     pub struct ProcessFields / ProcessPatch { /// doc
///         #[schema(max_length = 200)] name: String, ... } }`
/// makes `ProcessFields` (all fields, `pub`, with the given attributes) and `ProcessPatch`
/// (every field optional, with `apply_to`), both closed to unknown fields.
#[macro_export]
macro_rules! editable_fields {
    (
        $(#[$meta:meta])*
        $vis:vis struct $fields:ident / $patch:ident {
            $($(#[$field_meta:meta])* $name:ident : $ty:ty),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(deny_unknown_fields)]
        $vis struct $fields {
            $($(#[$field_meta])* pub $name: $ty),+
        }

        /// A JSON merge patch: the fields to change. `null` clears an optional field or
        /// empties a list.
        #[derive(Debug, Default, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        $vis struct $patch {
            $(
                #[serde(default, deserialize_with = "crate::domain::fields::present")]
                $name: Option<<$ty as $crate::domain::fields::PatchField>::Patch>
            ),+
        }

        impl $patch {
            /// The fields after this patch.
            pub fn apply_to(self, mut fields: $fields) -> $fields {
                $(
                    if let Some(value) = self.$name {
                        fields.$name =
                            $crate::domain::fields::PatchField::merged(fields.$name, value);
                    }
                )+
                fields
            }
        }

        impl utoipa::PartialSchema for $patch {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::domain::fields::patch_schema(
                    <$fields as utoipa::PartialSchema>::schema(),
                    "A JSON merge patch (RFC 7396): only the fields to change. `null` clears an \
                     optional field or empties a list.",
                )
            }
        }

        impl utoipa::ToSchema for $patch {}
    };
}

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    crate::editable_fields! {
        struct Sample / SamplePatch {
            name: String,
            note: Option<String>,
            #[serde(default)]
            tags: Vec<String>,
        }
    }

    fn sample() -> Sample {
        Sample {
            name: "a".into(),
            note: Some("n".into()),
            tags: vec!["t".into()],
        }
    }

    fn patch(json: &str) -> Result<SamplePatch, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn absent_keeps_null_clears_value_replaces() {
        assert_eq!(patch("{}").unwrap().apply_to(sample()), sample());
        let cleared = patch(r#"{"note": null, "tags": null}"#)
            .unwrap()
            .apply_to(sample());
        assert_eq!((cleared.note, cleared.tags.len()), (None, 0));
        let renamed = patch(r#"{"name": "b"}"#).unwrap().apply_to(sample());
        assert_eq!((renamed.name.as_str(), renamed.tags.len()), ("b", 1));
    }

    #[test]
    fn required_fields_refuse_null_and_unknown_fields_are_refused() {
        assert!(patch(r#"{"name": null}"#).is_err());
        assert!(patch(r#"{"id": "x"}"#).is_err());
        assert!(patch(r#"{"name": "a", "name": "b"}"#).is_err());
    }

    #[test]
    fn the_patch_schema_requires_nothing() {
        let utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Object(full)) =
            Sample::schema()
        else {
            panic!()
        };
        assert_eq!(full.required, vec!["name".to_string()]);
        let utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Object(patch)) =
            SamplePatch::schema()
        else {
            panic!()
        };
        assert!(patch.required.is_empty());
        assert_eq!(patch.properties.len(), 3);
    }
}
