// Package config is immp's one typed configuration: the Config struct, the
// built-in test-bed profile (Default), loading a TOML file (Load) with
// validation, and the commented example (Example) generated from the
// struct's own field documentation, so the example cannot drift from what
// Load accepts.
//
// Two modes:
//   - Default(): no file. The test-bed profile (DESIGN "Contracts"):
//     loopback only, GreenMail-style ports (SMTP 3025, submission 3587,
//     IMAP 3143, IMAPS 3993, IMMP 3323, IMMPS 3324, HTTP 3880), data in
//     ./immp-data, domain localhost, accounts created on first login or
//     delivery, and a self-signed certificate generated into the data
//     directory for the TLS listeners.
//   - Load(file): a listener runs only where its key is set to an address
//     (absent or "" is off) and nothing is created implicitly. Unknown keys
//     are errors; every error names the offending key (and its line where
//     the TOML decoder knows it).
//
// Validate refuses what cannot work, naming the key: besides types and
// ranges, wildcard or non-DNS domains and host names, two listeners on one
// port, a tls_listen without a certificate, trusted networks spanning the
// Internet (check.go). Warnings lists what works but is probably a
// mistake: a short host name outside a test bed, a wide public trusted
// network; "config check", "doctor" and "serve" show them.
//
// Durations are Go durations ("30s", "5m", "1h30m"); sizes take the units
// B, KiB, MiB, GiB (and kB, MB, GB) as in "25MiB".
package config
