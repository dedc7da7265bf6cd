// The client SDK from C++ (the README's ten lines): record values, upload, report.
//   client_example URL TOKEN TASK STATE_DIR VALUE...
#include <iostream>

#include "residue/client/client.h"

int main(int argc, char** argv) {
  if (argc < 6) {
    std::cerr << "usage: " << argv[0] << " URL TOKEN TASK STATE_DIR VALUE...\n";
    return 2;
  }
  try {
    auto client = residue::Client::open({.url = argv[1],
                                         .token = argv[2],
                                         .task = argv[3],
                                         .state_dir = argv[4],
                                         .memoize = residue::Memoize::kPermanent,
                                         .budget_reports = 1000});
    for (int i = 5; i < argc; ++i) {
      if (client->record(argv[i]) != residue::Status::kOk) {
        std::cerr << "record \"" << argv[i] << "\": " << client->last_error() << "\n";
      }
    }
    const residue::FlushResult r = client->flush();
    std::cout << "flush: " << r.uploaded_reports << " reports uploaded, " << r.remaining_reports
              << " still queued" << (r.message.empty() ? "" : ": " + r.message) << "\n";
    return r.status == residue::Status::kOk && r.remaining_reports == 0 ? 0 : 1;
  } catch (const std::exception& e) {  // Client::open: bad options, unreachable daemon, state
    std::cerr << "client: " << e.what() << "\n";
    return 1;
  }
}
