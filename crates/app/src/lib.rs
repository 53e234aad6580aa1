//! tapwater-app
