//! Normalizers: the rules that turn what agencies write into clean typed values, each change logged.
//!
//! Placeholder until the normalizer work lands.
