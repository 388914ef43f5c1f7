pub use sea_orm_migration::prelude::*;

mod common;
mod m20261125_000001_foundation;
mod m20261125_000002_audit_chain_key;
mod m20261125_000003_api_key_versions;
mod m20261125_000004_control_loop;
mod m20261126_000005_assessments;
mod m20261126_000006_documents;
mod m20261126_000007_improvements_risks;
mod m20261126_000008_management_reviews;
mod m20261126_000009_training_records;
mod m20261126_000010_report_indexes;
mod m20261127_000011_webhooks;
mod m20261207_000020_list_indexes;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_foundation::Migration),
            Box::new(m20261125_000002_audit_chain_key::Migration),
            Box::new(m20261125_000003_api_key_versions::Migration),
            Box::new(m20261125_000004_control_loop::Migration),
            Box::new(m20261126_000005_assessments::Migration),
            Box::new(m20261126_000006_documents::Migration),
            Box::new(m20261126_000007_improvements_risks::Migration),
            Box::new(m20261126_000008_management_reviews::Migration),
            Box::new(m20261126_000009_training_records::Migration),
            Box::new(m20261126_000010_report_indexes::Migration),
            Box::new(m20261127_000011_webhooks::Migration),
            Box::new(m20261207_000020_list_indexes::Migration),
        ]
    }
}
