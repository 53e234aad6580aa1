//! Who may do what. The one place that decides access; every operation asks here first.
//!
//! Today there are two kinds of operation: reading public data (anyone) and changing the catalog (the admin token
//! or the operator at the command line). The access issue adds accounts, organisations and access tiers here.

use tapwater_types::Actor;

use crate::AppError;

/// An operation that needs a decision.
#[derive(Debug, Clone, Copy)]
pub enum Action<'a> {
    ReadDataset(&'a str),
    CreateDataset,
    UpdateDataset(&'a str),
    PublishVersion(&'a str),
    /// Set, delete or run the source of a dataset (URL pull or SQL query).
    ConfigureSource(&'a str),
}

/// Allows or refuses `action` for `actor`.
pub fn authorize(actor: &Actor, action: Action<'_>) -> Result<(), AppError> {
    match action {
        Action::ReadDataset(_) => Ok(()),
        Action::CreateDataset | Action::UpdateDataset(_) | Action::PublishVersion(_) | Action::ConfigureSource(_) => {
            match actor {
                Actor::Admin | Actor::System => Ok(()),
                Actor::Anonymous => Err(AppError::Unauthorized),
            }
        }
    }
}
