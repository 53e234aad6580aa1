//! tapwater-store
