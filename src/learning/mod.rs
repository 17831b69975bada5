//! A trainee's learning progress: lesson completions, quiz attempts with every answer,
//! and the gating that follows from them.

pub mod progress;
