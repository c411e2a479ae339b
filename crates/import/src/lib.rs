//! The import job: reads time-tracking exports and uploads their entries to
//! the Timesheets API.

pub mod entry;
pub mod read;

pub use entry::{Entry, Origin, Record};
pub mod run;
pub mod token;
pub mod upload;

pub use run::{Summary, run};
