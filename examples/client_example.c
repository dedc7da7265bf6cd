/* The client SDK from C: record a few values of a dictionary task, upload them, report.
 *   client_example_c URL TOKEN TASK STATE_DIR VALUE...
 * Exits 0 when every value was recorded and everything queued was uploaded. */
#include <stdio.h>

#include "residue_client.h"

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
