//! Rendering a [`SuiteReport`](crate::suite::SuiteReport): a terminal table for people, JUnit
//! XML for CI, and a self-contained HTML page with plots of a recorded run. JSON is the report
//! itself, serialized.

mod figures;
pub mod html;
mod junit;
mod names;
pub mod svg;
mod terminal;

pub use crate::text::number;
pub use junit::to_junit;
pub use terminal::{to_text, use_color};
