// SPDX-License-Identifier: Apache-2.0
// sbert-launch: starts N copies of a training program with torchrun's environment contract
// (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT), for users without
// Python. It only spawns and watches processes: the program itself meets the others through
// c10d's TCPStore (sbert::distributed::init_process_group). When one process fails, the others
// are stopped and sbert-launch exits with the failed one's status.
//
//   sbert-launch --nproc 2 -- ./train --epochs 1
//   sbert-launch --nnodes 2 --node-rank 0 --nproc 8 --master-addr 10.0.0.1 --master-port 29500 -- ./train
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

[[noreturn]] void usage(const char* msg) {
  if (msg) std::fprintf(stderr, "sbert-launch: %s\n", msg);
  std::fprintf(stderr,
               "usage: sbert-launch [--nproc N] [--nnodes M --node-rank K] [--master-addr ADDR] [--master-port PORT]\n"
               "                    -- PROGRAM [ARGS...]\n"
               "  --nproc N        processes on this machine (default 1)\n"
               "  --nnodes M       machines in the run (default 1); --node-rank K: this machine's index\n"
               "  --master-addr    address of the machine running rank 0 (default 127.0.0.1)\n"
               "  --master-port    its free TCP port (default: any free port on one machine, 29500 on several)\n"
               "Each process gets RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT\n"
               "(and OMP_NUM_THREADS=1 unless set), as torchrun sets them.\n");
  std::exit(2);
}

int parse_int(const char* flag, const char* v, int lo, int hi) {
  char* end = nullptr;
  errno = 0;
  const long x = std::strtol(v, &end, 10);
  if (errno || !*v || *end || x < lo || x > hi)
    usage((std::string(flag) + " wants an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got '" + v + "'").c_str());
  return static_cast<int>(x);
}

// A port nobody listens on now (the kernel's pick); rank 0's store binds it moments later.
int free_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return 29500;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  int port = 29500;
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(s);
  return port;
}

// The children, for the signal handler: a SIGTERM or SIGINT to sbert-launch (a job scheduler's
// cancel, a test timeout, Ctrl-C) goes on to them.
pid_t g_children[1024];
volatile sig_atomic_t g_nchildren = 0;
extern "C" void forward_signal(int sig) {
  for (sig_atomic_t k = 0; k < g_nchildren; ++k)
    if (g_children[k] > 0) ::kill(-g_children[k], sig);
}

}  // namespace

int main(int argc, char** argv) {
  int nproc = 1, nnodes = 1, node_rank = 0, port = -1;
  std::string addr = "127.0.0.1";
  int i = 1;
  for (; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage((a + " needs a value").c_str());
      return argv[++i];
    };
    if (a == "--") {
      ++i;
      break;
    }
    if (a == "--nproc" || a == "--nproc-per-node" || a == "--nproc_per_node") nproc = parse_int("--nproc", value(), 1, 1024);
    else if (a == "--nnodes") nnodes = parse_int("--nnodes", value(), 1, 65536);
    else if (a == "--node-rank" || a == "--node_rank") node_rank = parse_int("--node-rank", value(), 0, 65535);
    else if (a == "--master-addr" || a == "--master_addr") addr = value();
    else if (a == "--master-port" || a == "--master_port") port = parse_int("--master-port", value(), 1, 65535);
    else if (a == "-h" || a == "--help") usage(nullptr);
    else usage(("unknown option '" + a + "' (the program and its arguments come after --)").c_str());
  }
  if (i >= argc) usage("no program given after --");
  if (node_rank >= nnodes) usage("--node-rank must be below --nnodes");
  if (port < 0) port = nnodes == 1 ? free_port() : 29500;
  const int world = nnodes * nproc;

  std::vector<pid_t> pids;
  struct sigaction sa {};
  sa.sa_handler = forward_signal;
  ::sigemptyset(&sa.sa_mask);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  for (int local = 0; local < nproc; ++local) {
    const pid_t pid = ::fork();
    if (pid < 0) {
      std::perror("sbert-launch: fork");
      for (pid_t p : pids) ::kill(-p, SIGTERM);
      return 1;
    }
    if (pid == 0) {
      // Its own process group, so that stopping it also stops what it started (a shell's
      // children would otherwise outlive it and hold the output open).
      ::setpgid(0, 0);
      ::setenv("RANK", std::to_string(node_rank * nproc + local).c_str(), 1);
      ::setenv("LOCAL_RANK", std::to_string(local).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(world).c_str(), 1);
      ::setenv("LOCAL_WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      ::setenv("GROUP_RANK", std::to_string(node_rank).c_str(), 1);
      ::setenv("MASTER_ADDR", addr.c_str(), 1);
      ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      ::setenv("OMP_NUM_THREADS", "1", 0);  // torchrun's default: N processes share the cores
      ::execvp(argv[i], argv + i);
      std::fprintf(stderr, "sbert-launch: cannot run '%s': %s\n", argv[i], std::strerror(errno));
      std::_Exit(127);
    }
    ::setpgid(pid, pid);  // also here: whichever of the two runs first
    pids.push_back(pid);
    g_children[local] = pid;
    g_nchildren = local + 1;
  }

  // Wait for all; on the first failure stop the rest (SIGTERM, then SIGKILL after 10 s).
  int result = 0;
  std::size_t alive = pids.size();
  bool stopping = false;
  auto stop_deadline = std::chrono::steady_clock::now();
  while (alive > 0) {
    int status = 0;
    const pid_t done = ::waitpid(-1, &status, stopping ? WNOHANG : 0);
    if (done < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (done == 0) {  // stopping, nobody exited yet
      if (std::chrono::steady_clock::now() > stop_deadline)
        for (pid_t p : pids)
          if (p > 0) ::kill(-p, SIGKILL);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    int rank = -1;
    for (std::size_t k = 0; k < pids.size(); ++k)
      if (pids[k] == done) {
        rank = node_rank * nproc + static_cast<int>(k);
        pids[k] = -1;
        g_children[k] = -1;
      }
    if (rank < 0) continue;
    --alive;
    int code = 0;
    if (WIFEXITED(status)) code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status)) code = 128 + WTERMSIG(status);
    if (code != 0 && !stopping) {
      std::fprintf(stderr, "sbert-launch: rank %d exited with %s %d; stopping the other %zu process(es)\n", rank,
                   WIFSIGNALED(status) ? "signal" : "status", WIFSIGNALED(status) ? WTERMSIG(status) : code, alive);
      result = code;
      stopping = true;
      stop_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      for (pid_t p : pids)
        if (p > 0) ::kill(-p, SIGTERM);
    }
  }
  return result;
}
