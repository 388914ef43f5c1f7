//! Audit findings (clause 9.2): what an audit found, graded.

use crate::text_enum;

text_enum! {
    pub enum FindingType {
        MajorNonconformity => "major_nonconformity",
        MinorNonconformity => "minor_nonconformity",
        Observation => "observation",
        OpportunityForImprovement => "opportunity_for_improvement",
    }
}

text_enum! {
    pub enum FindingState { Open => "open", Closed => "closed" }
}

impl FindingType {
    /// Nonconformities need a clause and a corrective action.
    pub fn is_nonconformity(self) -> bool {
        matches!(
            self,
            FindingType::MajorNonconformity | FindingType::MinorNonconformity
        )
    }
}
