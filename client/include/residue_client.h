/* residue_client.h: the C ABI of the Residue client SDK (docs/client.md).
 *
 * Conventions, once for every function here:
 *  (1) Opaque handles: a residue_client_t* comes from residue_client_create and goes back
 *      to residue_client_destroy; it may be shared by threads (calls are serialized inside).
 *  (2) Every function that can fail returns int: RESIDUE_OK (0) or a negative RESIDUE_E_*
 *      code. residue_last_error() then describes the failure; its string belongs to the
 *      calling thread and stays valid until that thread's next residue_* call.
 *  (3) A handle a function creates is its first argument (p_client); other results come
 *      last, as pointers named p_*, which may be NULL when the caller does not want them.
 *  (4) All other pointer arguments must be non-NULL. Strings are NUL-terminated UTF-8.
 *  (5) No C++ exception ever crosses this boundary.
 *
 *   residue_client_options_t o;
 *   residue_client_options_init(&o);
 *   o.url = "http://127.0.0.1:8750"; o.token = token; o.task = "words"; o.state_dir = dir;
 *   residue_client_t* c;
 *   if (residue_client_create(&c, &o) != RESIDUE_OK) fprintf(stderr, "%s\n", residue_last_error());
 *   residue_client_record(c, "hello");
 *   residue_client_flush(c, NULL, NULL);
 *   residue_client_destroy(c);
 */
#ifndef RESIDUE_CLIENT_H_
#define RESIDUE_CLIENT_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define RESIDUE_API __attribute__((visibility("default")))
#define RESIDUE_NODISCARD __attribute__((warn_unused_result))
#define RESIDUE_NONNULL(...) __attribute__((nonnull(__VA_ARGS__)))
#else
#define RESIDUE_API
#define RESIDUE_NODISCARD
#define RESIDUE_NONNULL(...)
#endif

enum {
  RESIDUE_OK = 0,
  RESIDUE_E_OVER_BUDGET = -1,   /* the on-device budget is spent: nothing recorded */
  RESIDUE_E_UNKNOWN_VALUE = -2, /* not in the task's dictionary: nothing recorded */
  RESIDUE_E_NETWORK = -3,       /* daemon unreachable or busy: reports stay queued */
  RESIDUE_E_REJECTED = -4,      /* the daemon refused (token, task, parameters) */
  RESIDUE_E_INVALID = -5,       /* bad argument or state */
  RESIDUE_E_OPEN = -6,          /* create failed: options, state directory, parameters */
  RESIDUE_E_INTERNAL = -7       /* unexpected failure (e.g. out of memory) */
};

enum { RESIDUE_MEMOIZE_OFF = 0, RESIDUE_MEMOIZE_PERMANENT = 1 };

/* Where secrets the app does not supply come from (docs/client.md, "Secrets"). */
enum {
  RESIDUE_SECRETS_FILE_FALLBACK = 0, /* created in state_dir (mode 0600) */
  RESIDUE_SECRETS_APP_ONLY = 1       /* none: create fails rather than write a secret file */
};

/* The app's keystore (Android Keystore, iOS Keychain, libsecret): writes the secret `name`
 * ("device.secret", "queue.key"), exactly `size` bytes, to `out`, creating it in the keystore
 * on first use, and returns 0; or returns a negative code of the app's choosing, and
 * residue_client_create fails with RESIDUE_E_OPEN naming the secret and the code. Called
 * during residue_client_create only. */
typedef int (*residue_secret_provider_t)(void* context, const char* name, uint8_t* out,
                                         size_t size);

typedef struct residue_client residue_client_t;

typedef struct residue_client_options {
  const char* url;               /* http://host:port or https://host:port */
  const char* token;             /* bearer token of the app */
  const char* task;              /* task name */
  const char* state_dir;         /* directory for cached parameters, queue, keys (created 0700) */
  const char* ca_cert;           /* CA file to trust for https, or NULL for the system store */
  double max_epsilon;            /* refuse tasks with a larger epsilon */
  int memoize;                   /* RESIDUE_MEMOIZE_OFF or RESIDUE_MEMOIZE_PERMANENT */
  uint32_t budget_reports;       /* at most this many reports per period; 0: no budget */
  int64_t budget_period_seconds; /* length of the budget period, positive */
  uint32_t batch_size;           /* reports per uploaded batch */
  /* Secret behind memoized reports (at least 32 bytes), or NULL: from secret_provider, or
   * else kept in state_dir. Copied by residue_client_create. */
  const uint8_t* device_secret;
  size_t device_secret_size;
  /* AES-256 key (32 bytes) of the queue at rest, or NULL: from secret_provider, or else kept
   * in state_dir. Copied by residue_client_create. */
  const uint8_t* queue_key;
  /* Supplies the secrets not given above, or NULL; context is passed to it as is. */
  residue_secret_provider_t secret_provider;
  void* secret_provider_context;
  int secrets;                /* RESIDUE_SECRETS_FILE_FALLBACK or RESIDUE_SECRETS_APP_ONLY */
  uint32_t max_memo_versions; /* memoize under at most this many task versions; 0: no limit */
} residue_client_options_t;

/* Fills `options` with the defaults (max_epsilon 4, no memoization, at most 4 memoized task
 * versions, no budget, daily period, batches of 1000, secrets kept in state_dir unless
 * supplied); the caller sets url, token, task and state_dir. */
RESIDUE_API void residue_client_options_init(residue_client_options_t* options) RESIDUE_NONNULL(1);

/* Opens the client (fetching and checking the task's parameters unless cached). */
RESIDUE_API int residue_client_create(residue_client_t** p_client,
                                      const residue_client_options_t* options) RESIDUE_NODISCARD
    RESIDUE_NONNULL(1, 2);

/* Closes the client; queued reports stay on disk for the next residue_client_create. */
RESIDUE_API void residue_client_destroy(residue_client_t* client);

/* Records one value of a dictionary task. */
RESIDUE_API int residue_client_record(residue_client_t* client, const char* value)
    RESIDUE_NONNULL(1, 2);

/* Records the value with index `index` in [0, k). */
RESIDUE_API int residue_client_record_index(residue_client_t* client, uint32_t index)
    RESIDUE_NONNULL(1);

/* Memory tasks: records that `next_word` followed the `n_words` words of `words_before` (the
 * sentence so far, most recent last; n_words >= 1: a sentence's first word is
 * residue_client_record_sentence_start). The context's key and cell are computed on the device;
 * only the randomized report leaves it. */
RESIDUE_API int residue_client_record_context(residue_client_t* client,
                                              const char* const* words_before, size_t n_words,
                                              const char* next_word) RESIDUE_NONNULL(1, 4);

/* Memory tasks: records that a sentence started with `first_word` (its context is the sentence
 * start). */
RESIDUE_API int residue_client_record_sentence_start(residue_client_t* client,
                                                     const char* first_word) RESIDUE_NONNULL(1, 2);

/* Vocabulary tasks: records one candidate-unit occurrence of `text`, drawn on the device;
 * RESIDUE_E_UNKNOWN_VALUE (nothing recorded) when the text holds none. */
RESIDUE_API int residue_client_record_text(residue_client_t* client, const char* text)
    RESIDUE_NONNULL(1, 2);

/* Uploads the queue; p_uploaded and p_remaining (optional) receive the reports acknowledged
 * now and those still queued. */
RESIDUE_API int residue_client_flush(residue_client_t* client, uint64_t* p_uploaded,
                                     uint64_t* p_remaining) RESIDUE_NONNULL(1);

/* Reports queued and not yet acknowledged. */
RESIDUE_API int residue_client_queued(const residue_client_t* client, uint64_t* p_reports)
    RESIDUE_NONNULL(1, 2);

/* The calling thread's last failure, or "" when the last call succeeded. */
RESIDUE_API const char* residue_last_error(void);

/* A constant name for a status code, e.g. "RESIDUE_E_OVER_BUDGET". */
RESIDUE_API const char* residue_status_name(int status);

#ifdef __cplusplus
}
#endif

#endif /* RESIDUE_CLIENT_H_ */
