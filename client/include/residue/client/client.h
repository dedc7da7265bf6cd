// Client: the Residue telemetry SDK for apps. A value an app records is randomized on the
// device at once (CSPRNG, or the memoized HMAC-DRBG stream), queued encrypted in a crash-safe
// file, and uploaded in batches the daemon acknowledges; the raw value is never written
// anywhere. Thread-safe: one Client per task, shared by any number of threads. No global
// state. docs/client.md is the guide.
//
//   ClientOptions o{.url = "https://telemetry.example:8750", .token = token, .task = "words",
//                   .state_dir = app_dir / "residue"};
//   std::unique_ptr<Client> client = Client::open(o);   // fetches and caches the task's parameters
//   client->record("hello");                            // Status::kOk, or a clear refusal
//   client->record_context(words_before, "next");       // a memory task (docs/client.md)
//   FlushResult r = client->flush();                    // when the network is there
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace residue {

enum class Memoize {
  kOff,        ///< fresh randomness for every report
  kPermanent,  ///< the same report for the same value, every time (RAPPOR's permanent RR)
};

/// Where the secrets behind memoized reports and the queue's encryption come from
/// (docs/client.md, "Secrets").
enum class Secrets {
  kFileFallback,  ///< a secret the app does not supply is created in state_dir (mode 0600)
  kAppOnly,       ///< every secret comes from the app: open() fails rather than create a file
};

/// Returns the secret `name` ("device.secret", "queue.key"), exactly `size` bytes, from the
/// platform's keystore (Android Keystore, iOS Keychain, libsecret), creating it there on first
/// use; throws to refuse, and Client::open fails with the message. Called by Client::open only.
using SecretProvider = std::function<std::vector<uint8_t>(std::string_view name, std::size_t size)>;

struct ClientOptions {
  /// Daemon base URL: http://host:port or https://host:port.
  std::string url;
  /// Bearer token of the app (per app, not per device).
  std::string token;
  std::string task;
  /// Where the client keeps its cached parameters, queue, keys and budget (created 0700).
  std::filesystem::path state_dir;
  /// The app's privacy bound: tasks published with a larger epsilon are refused.
  double max_epsilon = 4.0;
  Memoize memoize = Memoize::kOff;
  /// Each version of the task (its hash: parameters and dictionary) gives the server one more
  /// memoized look at every value. The client remembers the versions it made memoized reports
  /// under (memo-<task>) and refuses memoized reports under more than this many; 0: no limit.
  uint32_t max_memo_versions = 4;
  /// At most this many reports per budget period; 0: no on-device budget.
  uint32_t budget_reports = 0;
  /// Length of a budget period; must be positive.
  std::chrono::seconds budget_period{std::chrono::hours(24)};
  /// The secrets: each is taken from these bytes if given, else from secret_provider if set,
  /// else (secrets = kFileFallback) from a file created in state_dir (mode 0600).
  /// device_secret: at least 32 bytes behind memoized reports (read only with memoization);
  /// losing it changes every memoized report. queue_key: the queue's AES-256 key at rest.
  std::optional<std::vector<uint8_t>> device_secret;
  std::optional<std::array<uint8_t, 32>> queue_key;
  SecretProvider secret_provider;
  Secrets secrets = Secrets::kFileFallback;
  /// Reports per uploaded batch.
  uint32_t batch_size = 1000;
  /// Upload attempts per batch and flush, with exponential backoff (base doubled, with
  /// jitter) between them.
  int max_attempts = 4;
  std::chrono::milliseconds backoff{200};
  /// CA certificate file to trust for https (a private CA); empty: the system store.
  std::string ca_cert;
};

enum class Status {
  kOk = 0,
  kOverBudget = 1,    ///< the on-device budget for this period is spent: nothing recorded
  kUnknownValue = 2,  ///< the value is not in the task's dictionary: nothing recorded
  kNetwork = 3,       ///< the daemon could not be reached or asked to retry later
  kRejected = 4,      ///< the daemon refused (token, task, parameters): see the message
  kInvalid = 5,       ///< bad argument or state, or max_memo_versions reached (the message says)
};

struct FlushResult {
  Status status = Status::kOk;
  std::string message;
  uint64_t uploaded_reports = 0;   ///< acknowledged in this flush (duplicates included)
  uint64_t dropped_reports = 0;    ///< refused for good (malformed, stale parameters)
  uint64_t remaining_reports = 0;  ///< still queued afterwards
};

class Client {
 public:
  /// Opens the state directory, its secrets and queue, and the task's parameters: the cached
  /// ones, or fetched from the daemon (and checked: known protocol, epsilon within
  /// max_epsilon, task hash of the parameters and dictionary) when none are cached. Throws
  /// residue::Error naming what is wrong (options, a secret the app did not supply under
  /// kAppOnly or its provider refused, unreachable daemon without a cache, corrupt or
  /// tampered state).
  static std::unique_ptr<Client> open(const ClientOptions& options);
  virtual ~Client() = default;

  /// Records a value of a dictionary task (kUnknownValue when it is not in the dictionary).
  virtual Status record(std::string_view value) = 0;
  /// Records the value with this index in [0, k) (kInvalid beyond).
  virtual Status record_index(uint32_t index) = 0;
  /// Memory tasks: records that `next_word` followed `words_before` (the sentence so far, most
  /// recent last). The key of the context and its codebook cell are computed here, from the
  /// task's artifact; only the randomized (cell, word) report leaves the device. kInvalid for
  /// another kind of task, an empty context (a sentence's first word is
  /// record_sentence_start()), an empty next_word or an empty word.
  virtual Status record_context(std::span<const std::string> words_before,
                                std::string_view next_word) = 0;
  /// Memory tasks: records that a sentence started with `first_word` (its context is the
  /// sentence start, <s>). kInvalid as record_context.
  virtual Status record_sentence_start(std::string_view first_word) = 0;
  /// Vocabulary tasks: records one occurrence of a candidate unit of the task's artifact in
  /// `text`, drawn uniformly with the CSPRNG; kUnknownValue (nothing recorded) when the text
  /// holds none, kInvalid for another kind of task.
  virtual Status record_text(std::string_view text) = 0;
  /// Uploads what is queued, in batches; removes a batch only once the daemon acknowledged
  /// it. Safe to call any time; what fails stays queued for the next call.
  virtual FlushResult flush() = 0;
  /// Fetches the task's parameters again (e.g. after the daemon's operator changed them).
  virtual Status refresh_parameters() = 0;

  /// Reports queued and not yet acknowledged.
  virtual uint64_t queued_reports() const = 0;
  /// Reports the budget still allows in the current period (UINT64_MAX without a budget).
  virtual uint64_t budget_left() const = 0;
  /// Why the most recent call on this client that did not return kOk failed.
  virtual std::string last_error() const = 0;
};

}  // namespace residue
