//! tapwater-server
