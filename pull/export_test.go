package pull

// FetchRetriesForTest exposes fetchRetries to the external tests that
// count fetch attempts.
const FetchRetriesForTest = fetchRetries
