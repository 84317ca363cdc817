// The CPU backend's team of threads (core/work_team.hpp): every block runs
// exactly once, worker numbers stay in range, an exception reaches the
// caller after the started blocks finish, a loop started inside a block
// runs on that block's thread, and ordered reductions give the same bits
// for any team size and wave size.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/work_team.hpp"

namespace stray::internal {
namespace {

TEST(WorkTeam, RunsEveryBlockOnceOnWorkersInRange) {
  for (const int threads : {1, 2, 3, 8}) {
    WorkTeam team(threads);
    EXPECT_GE(team.threads(), 1);
    EXPECT_LE(team.threads(), threads);
    for (const int64_t blocks : {0, 1, 2, 7, 1000}) {
      std::vector<std::atomic<int>> runs(static_cast<std::size_t>(blocks));
      std::atomic<bool> worker_out_of_range{false};
      team.run(blocks, [&](int64_t b, int worker) {
        runs[static_cast<std::size_t>(b)].fetch_add(1);
        if (worker < 0 || worker >= team.threads()) worker_out_of_range = true;
      });
      for (int64_t b = 0; b < blocks; ++b) ASSERT_EQ(runs[b].load(), 1) << threads << " " << b;
      EXPECT_FALSE(worker_out_of_range);
    }
  }
}

TEST(WorkTeam, AnExceptionReachesTheCallerAndTheTeamGoesOn) {
  WorkTeam team(3);
  std::atomic<int64_t> ran{0};
  EXPECT_THROW(team.run(500,
                        [&](int64_t b, int) {
                          ran.fetch_add(1);
                          if (b == 3) throw std::runtime_error("block 3");
                        }),
               std::runtime_error);
  EXPECT_LE(ran.load(), 500);
  // The next loop is unaffected.
  std::atomic<int64_t> sum{0};
  team.run(100, [&](int64_t b, int) { sum.fetch_add(b); });
  EXPECT_EQ(sum.load(), 99 * 100 / 2);
}

TEST(WorkTeam, ALoopInsideABlockRunsOnThatBlocksThread) {
  WorkTeam team(2);
  std::atomic<int64_t> inner_runs{0};
  std::atomic<bool> moved{false};
  team.run(8, [&](int64_t, int worker) {
    const std::thread::id me = std::this_thread::get_id();
    team.run(5, [&](int64_t, int inner_worker) {
      inner_runs.fetch_add(1);
      if (inner_worker != worker || std::this_thread::get_id() != me) moved = true;
    });
  });
  EXPECT_EQ(inner_runs.load(), 8 * 5);
  EXPECT_FALSE(moved);
}

TEST(WorkTeam, TeamsInsideEachOthersBlocksKeepTheirNesting) {
  WorkTeam outer(2);
  // A team takes one caller at a time: an inner team per outer worker.
  std::vector<std::unique_ptr<WorkTeam>> inner;
  for (int w = 0; w < outer.threads(); ++w) inner.push_back(std::make_unique<WorkTeam>(2));
  std::atomic<int64_t> runs{0};
  outer.run(6, [&](int64_t, int worker) {
    inner[static_cast<std::size_t>(worker)]->run(4, [&](int64_t, int) { runs.fetch_add(1); });
    // Back in the outer team's block: a loop on it still runs in place.
    outer.run(3, [&](int64_t, int nested_worker) {
      runs.fetch_add(nested_worker == worker ? 100 : 10000);
    });
  });
  EXPECT_EQ(runs.load(), 6 * 4 + 6 * 3 * 100);
}

// fork copies only the calling thread: in the child the helpers never claim
// a block, so the loops run on it alone, and destroying the team returns
// (the C library marks the parent's threads ended in the child; an alarm
// turns a hang into a failure).
TEST(WorkTeam, AForkedChildRunsLoopsAloneAndLetsTheHelpersGo) {
  auto team = std::make_unique<WorkTeam>(3);
  team->run(10, [](int64_t, int) {});
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    alarm(20);
    int64_t sum = 0;
    bool helper_ran = false;
    team->run(100, [&](int64_t b, int worker) {
      sum += b;
      helper_ran = helper_ran || worker != 0;
    });
    team.reset();
    _exit(sum == 99 * 100 / 2 && !helper_ran ? 0 : 2);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
}

TEST(WorkTeam, OrderedReductionsDoNotDependOnTheTeamOrTheWave) {
  // Float sums whose value depends on the order of addition.
  const int64_t chunks = 37;
  const auto run = [&](int threads, int64_t wave) {
    WorkTeam team(threads);
    double total = 0.0;
    run_ordered(
        team, chunks, 2, wave,
        [&](int64_t c, double* part, int) {
          part[0] = 1.0 / static_cast<double>(c + 1) * (c % 2 ? 1e16 : 1.0);
          part[1] = static_cast<double>(c);
        },
        [&](int64_t c, const double* part) {
          EXPECT_EQ(part[1], static_cast<double>(c));  // merged in chunk order
          total += part[0];
        });
    return total;
  };
  const double want = run(1, 1);
  for (const int threads : {2, 3})
    for (const int64_t wave : {1, 4, 100}) EXPECT_EQ(run(threads, wave), want) << threads << " " << wave;
}

TEST(WorkTeam, PerWorkerMakesOneItemPerWorkerThatRuns) {
  WorkTeam team(2);
  std::atomic<int> made{0};
  PerWorker<std::vector<int>> scratch(team, [&] {
    made.fetch_add(1);
    return std::vector<int>(4, 0);
  });
  team.run(64, [&](int64_t, int worker) { scratch[worker][0] += 1; });
  int total = 0, items = 0;
  scratch.for_each([&](const std::vector<int>& v) {
    total += v[0];
    ++items;
  });
  EXPECT_EQ(total, 64);
  EXPECT_EQ(items, made.load());
  EXPECT_LE(items, team.threads());
}

}  // namespace
}  // namespace stray::internal
