// The C ABI (client/include/residue_client.h): a thin shell over residue::Client that catches
// every exception at the boundary and keeps the last error per thread.
#include <openssl/crypto.h>

#include <algorithm>
#include <exception>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "residue/client/client.h"
#include "residue/core/error.h"
#include "residue_client.h"

struct residue_client {
  std::unique_ptr<residue::Client> impl;
};

namespace {

thread_local std::string last_error;

int status_code(residue::Status s) {
  switch (s) {
    case residue::Status::kOk:
      return RESIDUE_OK;
    case residue::Status::kOverBudget:
      return RESIDUE_E_OVER_BUDGET;
    case residue::Status::kUnknownValue:
      return RESIDUE_E_UNKNOWN_VALUE;
    case residue::Status::kNetwork:
      return RESIDUE_E_NETWORK;
    case residue::Status::kRejected:
      return RESIDUE_E_REJECTED;
    case residue::Status::kInvalid:
      return RESIDUE_E_INVALID;
  }
  return RESIDUE_E_INTERNAL;
}

// Runs `body`; turns exceptions into `on_error` with the message kept for residue_last_error.
template <typename Body>
int guarded(int on_error, Body body) {
  last_error.clear();
  try {
    return body();
  } catch (const std::bad_alloc&) {
    last_error = "out of memory";
    return RESIDUE_E_INTERNAL;
  } catch (const std::exception& e) {
    last_error = e.what();
    return on_error;
  } catch (...) {
    last_error = "unknown failure";
    return RESIDUE_E_INTERNAL;
  }
}

int from_status(residue_client* client, residue::Status s) {
  if (s != residue::Status::kOk) last_error = client->impl->last_error();
  return status_code(s);
}

// The C provider as a residue::SecretProvider: a code other than 0 becomes an Error.
residue::SecretProvider secret_provider(residue_secret_provider_t provider, void* context) {
  return [provider, context](std::string_view name, std::size_t size) {
    std::vector<uint8_t> secret(size);
    const int code = provider(context, std::string(name).c_str(), secret.data(), size);
    if (code != 0) {
      OPENSSL_cleanse(secret.data(), secret.size());
      throw residue::Error("the app's secret_provider returned " + std::to_string(code) + ".");
    }
    return secret;
  };
}

// Wipes the copies of the app's secrets in `o` once the client has its own.
void wipe_secrets(residue::ClientOptions& o) {
  if (o.device_secret) OPENSSL_cleanse(o.device_secret->data(), o.device_secret->size());
  if (o.queue_key) OPENSSL_cleanse(o.queue_key->data(), o.queue_key->size());
}

}  // namespace

extern "C" {

void residue_client_options_init(residue_client_options_t* options) {
  *options = residue_client_options_t{};
  options->max_epsilon = 4.0;
  options->memoize = RESIDUE_MEMOIZE_OFF;
  options->budget_period_seconds = 24 * 3600;
  options->batch_size = 1000;
  options->secrets = RESIDUE_SECRETS_FILE_FALLBACK;
  options->max_memo_versions = residue::ClientOptions{}.max_memo_versions;
}

int residue_client_create(residue_client_t** p_client, const residue_client_options_t* options) {
  *p_client = nullptr;
  return guarded(RESIDUE_E_OPEN, [&] {
    if (options->url == nullptr || options->token == nullptr || options->task == nullptr ||
        options->state_dir == nullptr) {
      last_error = "url, token, task and state_dir must all be set";
      return RESIDUE_E_INVALID;
    }
    if (options->memoize != RESIDUE_MEMOIZE_OFF && options->memoize != RESIDUE_MEMOIZE_PERMANENT) {
      last_error = "memoize must be RESIDUE_MEMOIZE_OFF or RESIDUE_MEMOIZE_PERMANENT";
      return RESIDUE_E_INVALID;
    }
    if (options->secrets != RESIDUE_SECRETS_FILE_FALLBACK &&
        options->secrets != RESIDUE_SECRETS_APP_ONLY) {
      last_error = "secrets must be RESIDUE_SECRETS_FILE_FALLBACK or RESIDUE_SECRETS_APP_ONLY";
      return RESIDUE_E_INVALID;
    }
    // Zero or below would start a new period at every record: no budget at all.
    if (options->budget_period_seconds <= 0) {
      last_error = "budget_period_seconds must be positive, but is " +
                   std::to_string(options->budget_period_seconds);
      return RESIDUE_E_INVALID;
    }
    residue::ClientOptions o;
    o.url = options->url;
    o.token = options->token;
    o.task = options->task;
    o.state_dir = options->state_dir;
    if (options->ca_cert != nullptr) o.ca_cert = options->ca_cert;
    o.max_epsilon = options->max_epsilon;
    o.memoize = options->memoize == RESIDUE_MEMOIZE_PERMANENT ? residue::Memoize::kPermanent
                                                              : residue::Memoize::kOff;
    o.max_memo_versions = options->max_memo_versions;
    o.budget_reports = options->budget_reports;
    o.budget_period = std::chrono::seconds(options->budget_period_seconds);
    o.batch_size = options->batch_size;
    if (options->device_secret != nullptr) {
      o.device_secret.emplace(options->device_secret,
                              options->device_secret + options->device_secret_size);
    }
    if (options->queue_key != nullptr) {
      o.queue_key.emplace();
      std::copy(options->queue_key, options->queue_key + o.queue_key->size(), o.queue_key->begin());
    }
    if (options->secret_provider != nullptr) {
      o.secret_provider =
          secret_provider(options->secret_provider, options->secret_provider_context);
    }
    o.secrets = options->secrets == RESIDUE_SECRETS_APP_ONLY ? residue::Secrets::kAppOnly
                                                             : residue::Secrets::kFileFallback;
    try {
      *p_client = new residue_client{residue::Client::open(o)};
    } catch (...) {
      wipe_secrets(o);
      throw;
    }
    wipe_secrets(o);
    return RESIDUE_OK;
  });
}

void residue_client_destroy(residue_client_t* client) {
  delete client;
}

int residue_client_record(residue_client_t* client, const char* value) {
  return guarded(RESIDUE_E_INVALID,
                 [&] { return from_status(client, client->impl->record(value)); });
}

int residue_client_record_index(residue_client_t* client, uint32_t index) {
  return guarded(RESIDUE_E_INVALID,
                 [&] { return from_status(client, client->impl->record_index(index)); });
}

int residue_client_record_context(residue_client_t* client, const char* const* words_before,
                                  size_t n_words, const char* next_word) {
  return guarded(RESIDUE_E_INVALID, [&]() -> int {
    if (words_before == nullptr) {
      last_error = "record_context: words_before is NULL but n_words is " + std::to_string(n_words);
      return RESIDUE_E_INVALID;
    }
    std::vector<std::string> words;
    words.reserve(n_words);
    for (size_t i = 0; i < n_words; ++i) {
      if (words_before[i] == nullptr) {
        last_error = "record_context: words_before[" + std::to_string(i) + "] is NULL";
        return RESIDUE_E_INVALID;
      }
      words.emplace_back(words_before[i]);
    }
    return from_status(client, client->impl->record_context(words, next_word));
  });
}

int residue_client_record_sentence_start(residue_client_t* client, const char* first_word) {
  return guarded(RESIDUE_E_INVALID, [&] {
    return from_status(client, client->impl->record_sentence_start(first_word));
  });
}

int residue_client_record_text(residue_client_t* client, const char* text) {
  return guarded(RESIDUE_E_INVALID,
                 [&] { return from_status(client, client->impl->record_text(text)); });
}

int residue_client_flush(residue_client_t* client, uint64_t* p_uploaded, uint64_t* p_remaining) {
  return guarded(RESIDUE_E_INVALID, [&] {
    const residue::FlushResult r = client->impl->flush();
    if (p_uploaded != nullptr) *p_uploaded = r.uploaded_reports;
    if (p_remaining != nullptr) *p_remaining = r.remaining_reports;
    return from_status(client, r.status);
  });
}

int residue_client_queued(const residue_client_t* client, uint64_t* p_reports) {
  return guarded(RESIDUE_E_INVALID, [&] {
    *p_reports = client->impl->queued_reports();
    return RESIDUE_OK;
  });
}

const char* residue_last_error(void) {
  return last_error.c_str();
}

const char* residue_status_name(int status) {
  switch (status) {
    case RESIDUE_OK:
      return "RESIDUE_OK";
    case RESIDUE_E_OVER_BUDGET:
      return "RESIDUE_E_OVER_BUDGET";
    case RESIDUE_E_UNKNOWN_VALUE:
      return "RESIDUE_E_UNKNOWN_VALUE";
    case RESIDUE_E_NETWORK:
      return "RESIDUE_E_NETWORK";
    case RESIDUE_E_REJECTED:
      return "RESIDUE_E_REJECTED";
    case RESIDUE_E_INVALID:
      return "RESIDUE_E_INVALID";
    case RESIDUE_E_OPEN:
      return "RESIDUE_E_OPEN";
    case RESIDUE_E_INTERNAL:
      return "RESIDUE_E_INTERNAL";
  }
  return "RESIDUE_E_UNKNOWN_STATUS";
}

}  // extern "C"
