//! kwire-client
