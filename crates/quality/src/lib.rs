//! Quality checks of tapwater: what is wrong with a dataset, what a publisher should do about it, and how far a user
//! can trust it.
//!
//! Two halves, because they change at different times:
//!
//! * [`TableChecker`] reads a version's table once, batch by batch (any size, in bounded memory per column), and
//!   returns the findings about its values: mixed types, dates not in ISO form, empty and constant columns, duplicate
//!   rows, primary-key and constraint violations, code lists, outliers, coordinates outside Taiwan, gaps in a series.
//!   Those findings belong to the version and never change, so they are computed once, right after the version is
//!   written, and stored with it.
//! * [`assess`] judges everything else — the declared metadata, the national portal's six machine checks, links,
//!   timeliness against the clock — adds the table findings, and computes the 0–100 score, the five-star level and
//!   the readiness badge. It is cheap and pure, so a report is assessed again whenever it is read: a publisher who
//!   fixes a description sees the score change without publishing again.
//!
//! Every finding carries a stable code from [`CHECKS`], a severity, the column, a count, example rows and values,
//! and a fix in English and Traditional Chinese. Messages never contain values of the data; values go to
//! `examples`, which the application layer removes for callers who may not read the rows.
//!
//! What it does not do: read files or the network (the application layer fetches links and tables and passes the
//! results in), or decide who may see a report.

mod assess;
mod codes;
mod table;

pub use assess::{AssessInput, LinkCheck, assess, next_due};
pub use codes::{CHECKS, Check, CheckFamily, check, finding};
pub use table::TableChecker;
