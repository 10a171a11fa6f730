//! What plan shows: drift, view integrity, redaction, formats, exit codes, --service, colour.
