//! The mock token server (placeholder: grows in the mock work).
