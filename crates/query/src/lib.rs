//! tapwater-query
