use actix_web::dev::Payload;
use actix_web::web::{self, Data, Path, Query};
use actix_web::{HttpRequest, HttpResponse, post};
use serde::Deserialize;
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use crate::domain::competence::TrainingRecordFields;
use crate::domain::document::{DocumentFields, DocumentState};
use crate::domain::process::{ProcessFields, ProcessState, RaciAssignment};
use crate::domain::risk::{RiskFields, RiskState};
use crate::domain::sms_role::SmsRoleFields;
use crate::http::AppState;
use crate::http::extract::Auth;
use crate::http::import_body::{Format, ImportLimit, csv_rows, format, json_rows, read_body};
use crate::http::problem::ApiError;
use crate::service::imports::{self, ImportResource, ImportResult};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// `true`: check every row, answer what would be created (200), write nothing.
    pub dry_run: Option<bool>,
}

/// Import many records of one collection, all or nothing.
///
/// The body is CSV (`text/csv`: the columns of the collection's export at
/// `GET /api/v1/exports/{resource}`, cells read as the export writes them — empty is null,
/// text loses one leading `'`, numbers, booleans, lists and objects are JSON) or a JSON
/// array (`application/json`) of the create bodies of `POST /api/v1/{resource}`.
///
/// A row is what a create takes, plus:
/// - `id`: kept as the record's id when given (a UUID not yet used); empty for a new one.
///   An export imported into another database thus keeps the references between its
///   collections: import `roles` first, then `processes`, then `documents` and `risks`.
/// - `state` (processes, documents, risks): the record starts in that state when it has
///   what the workflow needs to get there (an `active` process what approval needs: an
///   owner role, a clause, a RACI with an `A`); else the row is refused naming `state` and
///   what is missing. Empty: the initial state. An imported `approved` document is approved
///   by the importing user at the time of the import.
/// - `raci` (processes) and `acceptance_rationale` (risks, `accepted` or `closed` only).
///
/// The export's other columns (`version`, timestamps, `allowed_actions`, computed fields)
/// are ignored. References may name a record by id or by natural key: `owner_role_id` and a
/// RACI's `role_id` an SMS role by id or name, `process_id` a process by id or code,
/// `user_id` and `member_ids` users by id or email.
///
/// Every row is checked first. A refusal (422) lists every problem of every row in
/// `errors`, the field as `rows[17].code`: rows are numbered from 1, the first row after
/// the CSV header (or the first element of the JSON array); a header problem is `header`
/// or `header[3]` (columns from 1). Codes, names and ids already taken, or given twice in
/// the file, are problems too. Otherwise every record is created in one transaction, each
/// with its audit-trail row. The body may hold `limits.max_import_bytes` (10 MiB by
/// default); past it the answer is 413.
#[utoipa::path(
    operation_id = "import_records",
    tag = "imports",
    security(("bearer" = ["manager"])),
    params(
        ("resource" = ImportResource, Path, description = "The collection to import into"),
        ImportQuery
    ),
    request_body(
        description = "The rows: CSV with the export's header, or a JSON array of objects",
        content(
            (String = "text/csv"),
            (Vec<ImportRow> = "application/json")
        )
    ),
    responses(
        (status = 200, description = "Dry run: every row is valid; nothing was written", body = ImportResult),
        (status = 201, description = "Every row was created", body = ImportResult)
    )
)]
#[post("/imports/{resource}")]
pub async fn import(
    req: HttpRequest,
    payload: web::Payload,
    state: Data<AppState>,
    limit: Data<ImportLimit>,
    caller: Auth,
    resource: Path<ImportResource>,
    query: Query<ImportQuery>,
) -> Result<HttpResponse, ApiError> {
    let resource = resource.into_inner();
    let format = format(&req)?;
    let mut payload: Payload = payload.into_inner();
    let body = read_body(&req, &mut payload, limit.0).await?;
    let rows = match format {
        Format::Csv => csv_rows(&body, &imports::columns(resource))?,
        Format::Json => json_rows(&body)?,
    };
    let dry_run = query.dry_run.unwrap_or(false);
    let result = imports::import(&state.db, &caller.0, resource, rows, dry_run).await?;
    Ok(if dry_run {
        HttpResponse::Ok().json(result)
    } else {
        HttpResponse::Created().json(result)
    })
}

/// One record of a JSON import: the create body of its collection, with the import's own
/// fields.
pub struct ImportRow;

const ID: &str = "Kept as the record's id; absent or null for a new id";

fn with_fields<T: PartialSchema>(
    description: &str,
    extras: Vec<(&str, RefOr<Schema>)>,
) -> RefOr<Schema> {
    let RefOr::T(Schema::Object(mut object)) = T::schema() else {
        return T::schema();
    };
    object.description = Some(description.to_string());
    let id = ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
        .description(Some(ID));
    object.properties.insert("id".into(), id.into());
    for (name, schema) in extras {
        object.properties.insert(name.into(), schema);
    }
    RefOr::T(Schema::Object(object))
}

fn state(name: &str) -> RefOr<Schema> {
    let mut reference = Ref::from_schema_name(name);
    reference.description = "The state to start in (absent: the initial state)".into();
    RefOr::Ref(reference)
}

const ROWS: [(&str, &str); 5] = [
    ("ProcessImport", "A process to import"),
    ("SmsRoleImport", "An SMS role to import"),
    ("DocumentImport", "A document to import"),
    ("RiskImport", "A risk or opportunity to import"),
    ("TrainingRecordImport", "A training record to import"),
];

impl PartialSchema for ImportRow {
    fn schema() -> RefOr<Schema> {
        let mut one_of = OneOfBuilder::new().description(Some(
            "A row of the collection in the path: `ProcessImport`, `SmsRoleImport`, \
             `DocumentImport`, `RiskImport` or `TrainingRecordImport`",
        ));
        for (name, _) in ROWS {
            one_of = one_of.item(Ref::from_schema_name(name));
        }
        one_of.into()
    }
}

impl ToSchema for ImportRow {
    fn schemas(out: &mut Vec<(String, RefOr<Schema>)>) {
        let raci = ArrayBuilder::new()
            .items(Ref::from_schema_name("RaciAssignment"))
            .max_items(Some(500))
            .description(Some("The RACI matrix (`PUT /processes/{id}/raci`)"));
        let rationale = ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
            .max_length(Some(10_000))
            .description(Some(
                "Why the risk is accepted as it is (`accepted` or `closed` only)",
            ));
        let rows = [
            with_fields::<ProcessFields>(
                ROWS[0].1,
                vec![("state", state("ProcessState")), ("raci", raci.into())],
            ),
            with_fields::<SmsRoleFields>(ROWS[1].1, vec![]),
            with_fields::<DocumentFields>(ROWS[2].1, vec![("state", state("DocumentState"))]),
            with_fields::<RiskFields>(
                ROWS[3].1,
                vec![
                    ("state", state("RiskState")),
                    ("acceptance_rationale", rationale.into()),
                ],
            ),
            with_fields::<TrainingRecordFields>(ROWS[4].1, vec![]),
        ];
        for ((name, _), schema) in ROWS.iter().zip(rows) {
            out.push((name.to_string(), schema));
        }
        out.push(("ProcessState".into(), ProcessState::schema()));
        out.push(("DocumentState".into(), DocumentState::schema()));
        out.push(("RiskState".into(), RiskState::schema()));
        out.push(("RaciAssignment".into(), RaciAssignment::schema()));
        RaciAssignment::schemas(out);
        ProcessFields::schemas(out);
        SmsRoleFields::schemas(out);
        DocumentFields::schemas(out);
        RiskFields::schemas(out);
        TrainingRecordFields::schemas(out);
    }
}
