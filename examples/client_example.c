/* The client SDK from C: record a few values of a dictionary task, upload them, report.
 *   [RESIDUE_KEYSTORE=DIR] client_example_c URL TOKEN TASK STATE_DIR VALUE...
 * With RESIDUE_KEYSTORE set, the client's secrets come from the app (here a stand-in for the
 * platform keystore) and none is written to STATE_DIR. Exits 0 when every value was recorded
 * and everything queued was uploaded. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "residue_client.h"

/* A stand-in for the platform keystore (Android Keystore, iOS Keychain, libsecret): each secret
 * is a file of the directory `context`, created from /dev/urandom on first use. A real app
 * calls its platform's API here, so that the secrets never lie in the client's state
 * directory. Returns 0, or -1 when the secret can be neither read nor created. */
static int demo_keystore(void* context, const char* name, uint8_t* out, size_t size) {
  char path[4096];
  if (snprintf(path, sizeof path, "%s/%s", (const char*)context, name) >= (int)sizeof path) {
    return -1;
  }
  FILE* stored = fopen(path, "rb");
  if (stored != NULL) {
    const size_t n = fread(out, 1, size, stored);
    fclose(stored);
    return n == size ? 0 : -1;
  }
  FILE* random = fopen("/dev/urandom", "rb");
  if (random == NULL) return -1;
  const size_t n = fread(out, 1, size, random);
  fclose(random);
  mkdir((const char*)context, 0700);
  const mode_t old_mask = umask(077);
  FILE* created = n == size ? fopen(path, "wbx") : NULL;
  umask(old_mask);
  if (created == NULL) return -1;
  const int ok = fwrite(out, 1, size, created) == size;
  return fclose(created) == 0 && ok ? 0 : -1;
}

int main(int argc, char** argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: %s URL TOKEN TASK STATE_DIR VALUE...\n", argv[0]);
    return 2;
  }
  residue_client_options_t options;
  residue_client_options_init(&options);
  options.url = argv[1];
  options.token = argv[2];
  options.task = argv[3];
  options.state_dir = argv[4];
  options.memoize = RESIDUE_MEMOIZE_PERMANENT;
  char* keystore = getenv("RESIDUE_KEYSTORE");
  if (keystore != NULL) {
    options.secret_provider = demo_keystore;
    options.secret_provider_context = keystore;
    options.secrets = RESIDUE_SECRETS_APP_ONLY; /* fail rather than write a secret file */
  }

  residue_client_t* client;
  if (residue_client_create(&client, &options) != RESIDUE_OK) {
    fprintf(stderr, "create: %s\n", residue_last_error());
    return 1;
  }
  int failed = 0;
  for (int i = 5; i < argc; ++i) {
    const int status = residue_client_record(client, argv[i]);
    if (status != RESIDUE_OK) {
      fprintf(stderr, "record \"%s\": %s: %s\n", argv[i], residue_status_name(status),
              residue_last_error());
      failed = 1;
    }
  }
  uint64_t uploaded = 0, remaining = 0;
  const int status = residue_client_flush(client, &uploaded, &remaining);
  printf("flush: %s, %llu reports uploaded, %llu still queued\n", residue_status_name(status),
         (unsigned long long)uploaded, (unsigned long long)remaining);
  if (status != RESIDUE_OK) fprintf(stderr, "flush: %s\n", residue_last_error());
  residue_client_destroy(client);
  return failed || status != RESIDUE_OK || remaining != 0;
}
