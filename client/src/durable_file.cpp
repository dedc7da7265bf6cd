#include "durable_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "residue/core/error.h"

namespace residue {
namespace {

using Path = std::filesystem::path;

[[noreturn]] void throw_io(const std::string& what, const Path& path, int err) {
  throw Error("cannot " + what + " \"" + path.string() + "\": " + std::strerror(err) + ".");
}

// Writes all of `bytes` to `fd` and fsyncs it. False on failure, errno set.
bool write_and_sync(int fd, std::span<const uint8_t> bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return ::fsync(fd) == 0;
}

// A fresh file next to `path` with a unique name, holding `bytes` (fsync'ed), mode 0600.
Path write_temporary(const Path& path, std::span<const uint8_t> bytes) {
  std::string name = path.string() + ".XXXXXX";
  const int fd = ::mkstemp(name.data());
  if (fd < 0) throw_io("create a file next to", path, errno);
  const bool ok = ::fchmod(fd, 0600) == 0 && write_and_sync(fd, bytes);
  const int err = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(name.c_str());
    throw_io("write", name, err);
  }
  return name;
}

}  // namespace

void write_durable_file(const Path& path, std::span<const uint8_t> bytes) {
  const Path temp = write_temporary(path, bytes);
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    throw_io("replace", path, err);
  }
  sync_parent_directory(path);
}

bool create_durable_file(const Path& path, std::span<const uint8_t> bytes) {
  const Path temp = write_temporary(path, bytes);
  const bool linked = ::link(temp.c_str(), path.c_str()) == 0;
  const int err = errno;
  ::unlink(temp.c_str());
  if (!linked && err != EEXIST) throw_io("create", path, err);
  if (linked) sync_parent_directory(path);
  return linked;
}

// Every state file is replaced whole, never written in place, so an open file keeps the size
// fstat gives. Read straight into a buffer of that size: no copy of a secret is left behind in
// a scratch buffer or a reallocated vector.
std::optional<std::vector<uint8_t>> read_file(const Path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw_io("read", path, errno);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw_io("read", path, err);
  }
  std::vector<uint8_t> bytes(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      throw_io("read", path, err);
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  bytes.resize(done);
  return bytes;
}

void sync_parent_directory(const Path& path) {
  const Path dir = path.has_parent_path() ? path.parent_path() : Path(".");
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool ok = fd >= 0 && ::fsync(fd) == 0;
  const int err = errno;
  if (fd >= 0) ::close(fd);
  if (!ok) throw_io("fsync the directory of", path, err);
}

}  // namespace residue
