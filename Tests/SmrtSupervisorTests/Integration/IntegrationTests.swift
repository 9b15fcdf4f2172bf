import Testing

/// Integration tests: the real `smrt-supervisor` binary with real worker processes and a real SQLite file.
///
/// One serialized parent suite, so timing-sensitive tests (kill deadlines, respawn times) never share the two
/// cores with each other. The nested suites are in the files of this folder.
@Suite(.serialized) struct IntegrationTests {}
