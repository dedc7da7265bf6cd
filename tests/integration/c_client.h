// A device on the C ABI (residue_client.h) for the integration tests of memory and vocab tasks.
#pragma once

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "daemon_fixture.h"
#include "residue_client.h"

namespace residue::integration {

/// A C client of `task` (max_epsilon 30, so that tasks may keep their values), or the test stops.
inline residue_client_t* open_c_client(const DaemonProcess& daemon,
                                       const std::filesystem::path& state, const char* task) {
  residue_client_options_t o;
  residue_client_options_init(&o);
  const std::string state_dir = state.string(), url = daemon.url();
  o.url = url.c_str();
  o.token = kToken;
  o.task = task;
  o.state_dir = state_dir.c_str();
  o.max_epsilon = 30;
  residue_client_t* c = nullptr;
  const int created = residue_client_create(&c, &o);
  INFO(residue_last_error());
  REQUIRE(created == RESIDUE_OK);
  return c;
}

}  // namespace residue::integration
