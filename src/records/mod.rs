//! Record batches (v2), legacy message sets (v0/v1) and compression.
