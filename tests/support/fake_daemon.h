// FakeDaemon: a tiny HTTP/1.1 server on the loopback for client tests. It answers every
// request with what a handler returns and records what it received, so a test can play any
// daemon behaviour (acknowledge, refuse, fail transiently, serve other parameters) without
// the real residued. One connection at a time, "Connection: close" after each answer; enough
// for httplib's client. Not a test of the daemon: tests/integration/ runs the real one.
//
//   testing::FakeDaemon daemon([](const testing::FakeDaemon::Request& r) {
//     return testing::FakeDaemon::Response{200, R"({"accepted": 1, "duplicate": false})"};
//   });
//   options.url = daemon.url();
//   ... client->flush() ...
//   for (const auto& r : daemon.requests()) inspect(r.path, r.body);
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace residue::testing {

class FakeDaemon {
 public:
  struct Request {
    std::string method;
    std::string path;
    std::string authorization;  ///< the Authorization header's value
    std::vector<uint8_t> body;
  };
  struct Response {
    int status = 200;
    std::string body;
  };
  using Handler = std::function<Response(const Request&)>;

  explicit FakeDaemon(Handler handler) : handler_(std::move(handler)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listener_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;  // any free port
    socklen_t len = sizeof(addr);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(listener_, 16) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      const int err = errno;
      ::close(listener_);
      throw std::runtime_error(std::string("fake daemon: ") + std::strerror(err));
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeDaemon() {
    stopping_ = true;
    ::shutdown(listener_, SHUT_RDWR);  // wakes accept()
    thread_.join();
    ::close(listener_);
  }
  FakeDaemon(const FakeDaemon&) = delete;
  FakeDaemon& operator=(const FakeDaemon&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<Request> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void serve() {
    while (!stopping_) {
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR) continue;
        return;  // shut down
      }
      handle(fd);
      ::close(fd);
    }
  }

  static std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
  }

  static bool send_all(int fd, const std::string& bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      done += static_cast<std::size_t>(n);
    }
    return true;
  }

  void handle(int fd) {
    std::string data;
    char buffer[4096];
    std::size_t header_end = std::string::npos;
    while (header_end == std::string::npos) {
      const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      data.append(buffer, static_cast<std::size_t>(n));
      header_end = data.find("\r\n\r\n");
    }
    Request request;
    std::size_t content_length = 0;
    bool expect_continue = false;
    const std::string head = data.substr(0, header_end);
    std::size_t line_end = head.find("\r\n");
    const std::string first = head.substr(0, line_end);
    const std::size_t sp1 = first.find(' '), sp2 = first.find(' ', sp1 + 1);
    request.method = first.substr(0, sp1);
    request.path = first.substr(sp1 + 1, sp2 - sp1 - 1);
    while (line_end != std::string::npos && line_end < head.size()) {
      const std::size_t start = line_end + 2;
      line_end = head.find("\r\n", start);
      const std::string line =
          head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
      const std::size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      const std::string name = lower(line.substr(0, colon));
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      if (name == "content-length") content_length = std::stoul(value);
      if (name == "authorization") request.authorization = value;
      if (name == "expect" && lower(value) == "100-continue") expect_continue = true;
    }
    if (expect_continue && !send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n")) return;
    std::string body = data.substr(header_end + 4);
    while (body.size() < content_length) {
      const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      body.append(buffer, static_cast<std::size_t>(n));
    }
    request.body.assign(body.begin(), body.end());
    const Response response = handler_(request);
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(std::move(request));
    }
    send_all(fd, "HTTP/1.1 " + std::to_string(response.status) +
                     " Fake\r\nContent-Type: application/json\r\nContent-Length: " +
                     std::to_string(response.body.size()) + "\r\nConnection: close\r\n\r\n" +
                     response.body);
  }

  Handler handler_;
  int listener_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::vector<Request> requests_;
  std::thread thread_;
};

}  // namespace residue::testing
