#include "shim/io.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <boost/asio/steady_timer.hpp>

#include "common/fs.h"
#include "common/log.h"
#include "shim/pump.h"

namespace berth::shim {

namespace asio = boost::asio;

StatusOr<UniqueFd> OpenFifo(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, StrCat("open ", path));
  return UniqueFd(fd);
}

namespace {

Status MakePipe(UniqueFd* r, UniqueFd* w) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
  r->Reset(p[0]);
  w->Reset(p[1]);
  return absl::OkStatus();
}

// Receives one fd sent with SCM_RIGHTS on an accepted connection of `listener`.
StatusOr<UniqueFd> ReceiveFd(int listener) {
  UniqueFd conn(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
  if (!conn) return ErrnoStatus(errno, "accept console socket");
  char name[4096];
  iovec iov{name, sizeof(name)};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = ::recvmsg(conn.get(), &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ErrnoStatus(errno, "receive pty master");
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
      return UniqueFd(fd);
    }
  }
  return absl::FailedPreconditionError("console socket: no file descriptor received");
}

}  // namespace

Status ProcessIO::OpenOutput(const std::string& path, UniqueFd* dst, UniqueFd* keepalive,
                             bool* is_file) {
  *is_file = false;
  if (path.empty()) return absl::OkStatus();
  if (path.rfind("binary://", 0) == 0) {
    return absl::UnimplementedError("binary:// log URIs are not supported by the berth shim");
  }
  if (path.rfind("file://", 0) == 0) {
    std::string file = path.substr(7);
    RETURN_IF_ERROR(MkdirAll(DirName(file)));
    int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoStatus(errno, StrCat("open ", file));
    dst->Reset(fd);
    *is_file = true;
    return absl::OkStatus();
  }
  // Keepalive reader first, so the write-only open never blocks.
  ASSIGN_OR_RETURN(*keepalive, OpenFifo(path, O_RDONLY | O_NONBLOCK));
  ASSIGN_OR_RETURN(*dst, OpenFifo(path, O_WRONLY | O_NONBLOCK));
  return absl::OkStatus();
}

StatusOr<std::unique_ptr<ProcessIO>> ProcessIO::Create(asio::io_context& io,
                                                       const StdioConfig& cfg, uint32_t io_uid,
                                                       uint32_t io_gid) {
  std::unique_ptr<ProcessIO> p(new ProcessIO(io));
  p->cfg_ = cfg;
  if (!cfg.stdin_path.empty()) {
    if (cfg.stdin_path.find("://") != std::string::npos) {
      return absl::UnimplementedError(StrCat("stdin URI \"", cfg.stdin_path, "\" not supported"));
    }
    ASSIGN_OR_RETURN(p->stdin_fifo_, OpenFifo(cfg.stdin_path, O_RDONLY | O_NONBLOCK));
    ASSIGN_OR_RETURN(p->stdin_keepalive_, OpenFifo(cfg.stdin_path, O_WRONLY | O_NONBLOCK));
  }
  RETURN_IF_ERROR(p->OpenOutput(cfg.stdout_path, &p->stdout_dst_, &p->stdout_keep_,
                                &p->stdout_is_file_));
  if (!cfg.terminal) {
    RETURN_IF_ERROR(p->OpenOutput(cfg.stderr_path, &p->stderr_dst_, &p->stderr_keep_,
                                  &p->stderr_is_file_));
  }
  if (cfg.terminal) {
    char tmpl[] = "/tmp/berth-pty-XXXXXX";
    if (!::mkdtemp(tmpl)) return ErrnoStatus(errno, "mkdtemp console dir");
    p->console_dir_ = tmpl;
    p->console_path_ = p->console_dir_ + "/pty.sock";
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return ErrnoStatus(errno, "console socket");
    p->console_listener_.Reset(fd);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    p->console_path_.copy(addr.sun_path, p->console_path_.size());
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 1) != 0) {
      return ErrnoStatus(errno, StrCat("listen ", p->console_path_));
    }
    return p;
  }
  if (p->stdin_fifo_) RETURN_IF_ERROR(MakePipe(&p->child_in_, &p->stdin_w_));
  if (p->stdout_dst_) RETURN_IF_ERROR(MakePipe(&p->stdout_r_, &p->child_out_));
  if (p->stderr_dst_) RETURN_IF_ERROR(MakePipe(&p->stderr_r_, &p->child_err_));
  if (io_uid != 0 || io_gid != 0) {
    for (UniqueFd* fd : {&p->child_in_, &p->child_out_, &p->child_err_}) {
      if (*fd && ::fchown(fd->get(), io_uid, io_gid) != 0) {
        return ErrnoStatus(errno, StrCat("chown container stdio to ", io_uid, ":", io_gid));
      }
    }
  }
  return p;
}

ProcessIO::~ProcessIO() {
  for (auto* pump : {&in_pump_, &out_pump_, &err_pump_}) {
    if (*pump) (*pump)->Stop();
  }
  if (!console_dir_.empty()) {
    ::unlink(console_path_.c_str());
    ::rmdir(console_dir_.c_str());
  }
}

RuncStdio ProcessIO::child_stdio() const {
  return RuncStdio{child_in_.get(), child_out_.get(), child_err_.get()};
}

Status ProcessIO::Started() {
  child_in_.Reset();
  child_out_.Reset();
  child_err_.Reset();
  // At the end of an output the FIFO (or file) is closed, with its keepalive reader, so the
  // client's copy sees EOF once it read everything, as with containerd's shim.
  auto on_out = [this, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.expired()) return;
    stdout_keep_.Reset();
    OnPumpDone();
  };
  auto on_err = [this, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.expired()) return;
    stderr_keep_.Reset();
    OnPumpDone();
  };
  if (cfg_.terminal) {
    ASSIGN_OR_RETURN(master_, ReceiveFd(console_listener_.get()));
    console_listener_.Reset();
    ::unlink(console_path_.c_str());
    ::rmdir(console_dir_.c_str());
    console_dir_.clear();
    if (pending_size_) RETURN_IF_ERROR(Resize(pending_size_->first, pending_size_->second));
    if (stdin_fifo_) {
      UniqueFd master_w(::fcntl(master_.get(), F_DUPFD_CLOEXEC, 0));
      in_pump_ = std::make_shared<Pump>(io_, std::move(stdin_fifo_), std::move(master_w), false,
                                        false, nullptr);
      in_pump_->Start();
    }
    UniqueFd master_r(::fcntl(master_.get(), F_DUPFD_CLOEXEC, 0));
    active_outputs_++;
    out_pump_ = std::make_shared<Pump>(io_, std::move(master_r), std::move(stdout_dst_),
                                       stdout_is_file_, true, on_out);
    out_pump_->Start();
    return absl::OkStatus();
  }
  if (stdin_fifo_) {
    in_pump_ = std::make_shared<Pump>(io_, std::move(stdin_fifo_), std::move(stdin_w_), false,
                                      true, nullptr);
    in_pump_->Start();
  }
  if (stdout_r_) {
    active_outputs_++;
    out_pump_ = std::make_shared<Pump>(io_, std::move(stdout_r_), std::move(stdout_dst_),
                                       stdout_is_file_, true, on_out);
    out_pump_->Start();
  }
  if (stderr_r_) {
    active_outputs_++;
    err_pump_ = std::make_shared<Pump>(io_, std::move(stderr_r_), std::move(stderr_dst_),
                                       stderr_is_file_, true, on_err);
    err_pump_->Start();
  }
  return absl::OkStatus();
}

void ProcessIO::CloseStdin() { stdin_keepalive_.Reset(); }

Status ProcessIO::Resize(uint32_t width, uint32_t height) {
  if (!cfg_.terminal) return absl::OkStatus();
  if (!master_) {
    // Not started yet: applied when the pty master arrives.
    pending_size_ = {width, height};
    return absl::OkStatus();
  }
  winsize ws{};
  ws.ws_col = static_cast<unsigned short>(width);
  ws.ws_row = static_cast<unsigned short>(height);
  if (::ioctl(master_.get(), TIOCSWINSZ, &ws) != 0) return ErrnoStatus(errno, "resize pty");
  return absl::OkStatus();
}

void ProcessIO::OnPumpDone() {
  if (--active_outputs_ > 0) return;
  auto cbs = std::move(drained_);
  drained_.clear();
  for (auto& cb : cbs) cb();
}

void ProcessIO::WhenDrained(std::chrono::milliseconds bound, std::function<void()> done) {
  if (active_outputs_ <= 0) {
    done();
    return;
  }
  // Whichever fires first (drain or timer) runs `done`; the other finds it already taken.
  auto once = std::make_shared<std::function<void()>>(std::move(done));
  auto fire = [once] {
    if (*once) {
      auto f = std::move(*once);
      *once = nullptr;
      f();
    }
  };
  drained_.push_back(fire);
  auto timer = std::make_shared<asio::steady_timer>(io_, bound);
  timer->async_wait([timer, fire](const boost::system::error_code&) { fire(); });
}

}  // namespace berth::shim
