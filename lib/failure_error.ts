/**
 * The one shape of a thrown typed failure: the record (kind, message, hint, …) that the error
 * shape and the UI need rides on the error as `failure`, and the message is the record's. The
 * fetcher (`SafeFetchError`) and the search engines (`SearchError`) throw it, each naming itself.
 */
export class FailureError<F extends { message: string }> extends Error {
  constructor(readonly failure: F) {
    super(failure.message);
  }
}
