// Relationship checks on one core with a warm index, on a Drive-shaped
// tuple set (the model of examples/relations/drive) at growing sizes.
//
// At N tuples: groups of 20 members; folders in chains of four (a root and
// three levels below it), each root with an owner and a viewer group;
// documents in the deepest folders, each with a direct viewer and an editor
// group. Checks, each on a random document:
//   direct    its direct viewer is a viewer (one exact-tuple probe)
//   group     a member of its editor group is an editor (through a userset)
//   depth3    a member of its root folder's viewer group is a viewer (three
//             `viewer from parent` steps, then the group)
//   negative  a user (known to the index) with no access is not a viewer
//             (every branch explored)
// and ListObjects of the documents a direct viewer can view.
//
// The growth of depth-3 checks from the smallest size to the largest is
// timed again at the end, in alternating blocks of each (the smallest index
// warmed before each of its blocks, the largest never on the checks timed):
// timed minutes apart, a shared or virtual machine's change of pace between
// the two sizes would count as growth.
//
// Usage: relations_bench MODEL_FILE CHECKS SIZE...
// Prints per size: `size=N kind=K p50_us=… p99_us=… checks_per_s=…` and
// `size=N bytes_per_tuple=… load_s=…`; then, for two sizes or more,
// `growth small=N large=N small_p50_us=… large_p50_us=… ratio=…`.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "policy/fga_check.h"

namespace {

namespace fga = bulwark::policy::fga;
using Clock = std::chrono::steady_clock;

fga::TupleKey T(std::string object_type, std::string object_id, std::string relation,
                std::string user_type, std::string user_id, std::string user_relation = "") {
  return {{std::move(object_type), std::move(object_id)},
          std::move(relation),
          {std::move(user_type), std::move(user_id), std::move(user_relation)},
          "",
          nullptr};
}

struct Dataset {
  fga::TupleIndex index;
  size_t groups = 0, folders = 0, documents = 0, users = 0;
  // Per document: its direct viewer, its editor group, its root folder.
  std::vector<size_t> direct_viewer, editor_group, root_folder;
  std::vector<size_t> root_viewer_group;  // per root folder (index / 4)
  std::vector<std::vector<size_t>> members;
};

constexpr size_t kMembers = 20;

Dataset Build(size_t n, std::mt19937_64& rng) {
  Dataset d;
  d.users = std::max<size_t>(100, n / 10);
  d.groups = std::max<size_t>(4, n / 200);
  d.folders = std::max<size_t>(8, n / 40) / 4 * 4;
  const size_t used = d.groups * kMembers + d.folders * 3 / 4 + d.folders / 4 * 2;
  d.documents = std::max<size_t>(4, (n > used ? n - used : 0) / 3);
  auto user = [&] { return std::to_string(rng() % d.users); };
  d.members.resize(d.groups);
  for (size_t g = 0; g < d.groups; ++g) {
    for (size_t i = 0; i < kMembers; ++i) {
      const size_t u = rng() % d.users;
      if (d.index.Add(T("group", std::to_string(g), "member", "user", std::to_string(u)))) {
        d.members[g].push_back(u);
      }
    }
  }
  for (size_t f = 0; f < d.folders; ++f) {
    if (f % 4 != 0) {
      d.index.Add(T("folder", std::to_string(f), "parent", "folder", std::to_string(f - 1)));
    } else {
      d.index.Add(T("folder", std::to_string(f), "owner", "user", user()));
      const size_t g = rng() % d.groups;
      d.root_viewer_group.push_back(g);
      d.index.Add(T("folder", std::to_string(f), "viewer", "group", std::to_string(g), "member"));
    }
  }
  for (size_t i = 0; i < d.documents; ++i) {
    const size_t leaf = (rng() % (d.folders / 4)) * 4 + 3;
    const std::string id = std::to_string(i);
    d.index.Add(T("document", id, "parent", "folder", std::to_string(leaf)));
    const size_t viewer = rng() % d.users;
    d.index.Add(T("document", id, "viewer", "user", std::to_string(viewer)));
    const size_t g = rng() % d.groups;
    d.index.Add(T("document", id, "editor", "group", std::to_string(g), "member"));
    d.direct_viewer.push_back(viewer);
    d.editor_group.push_back(g);
    d.root_folder.push_back(leaf / 4);
  }
  return d;
}

struct Figures {
  double p50_us, p99_us, per_s;
};

struct Query {
  fga::CheckRequest request;
  bool want;
};

// Times queries[begin, begin + count) into `us`, one sample per check.
void TimeBlock(const fga::Model& model, const Dataset& d, const std::vector<Query>& queries,
               size_t begin, size_t count, std::vector<double>& us) {
  for (size_t i = begin; i < begin + count; ++i) {
    const auto t0 = Clock::now();
    auto r = fga::Check(model, d.index, queries[i % queries.size()].request);
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    if (!r) std::abort();
  }
}

double Median(std::vector<double>& us) {
  std::sort(us.begin(), us.end());
  return us[us.size() / 2];
}

template <typename F>
Figures Time(size_t count, F f) {
  std::vector<double> us;
  us.reserve(count);
  const auto begin = Clock::now();
  for (size_t i = 0; i < count; ++i) {
    const auto t0 = Clock::now();
    f(i);
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  const double total = std::chrono::duration<double>(Clock::now() - begin).count();
  std::sort(us.begin(), us.end());
  return {us[us.size() / 2], us[us.size() * 99 / 100], static_cast<double>(count) / total};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: relations_bench MODEL_FILE CHECKS SIZE...\n");
    return 2;
  }
  std::ifstream in(argv[1]);
  std::stringstream text;
  text << in.rdbuf();
  auto model = fga::Model::Parse(text.str());
  if (!model) {
    std::fprintf(stderr, "model: %s\n", model.error().message().c_str());
    return 2;
  }
  const size_t checks = std::stoul(argv[2]);
  // The smallest and largest sizes' datasets and depth-3 checks, for growth.
  std::optional<Dataset> smallest, largest;
  std::vector<Query> smallest_depth3, largest_depth3;
  for (int a = 3; a < argc; ++a) {
    const size_t n = std::stoul(argv[a]);
    std::mt19937_64 rng(42);
    const auto load_start = Clock::now();
    Dataset d = Build(n, rng);
    const double load_s = std::chrono::duration<double>(Clock::now() - load_start).count();
    std::printf("size=%zu tuples=%zu bytes_per_tuple=%.0f load_s=%.2f\n", n, d.index.size(),
                static_cast<double>(d.index.MemoryBytes()) / static_cast<double>(d.index.size()),
                load_s);

    // The requests, made before timing.
    std::vector<std::pair<std::string, std::vector<Query>>> kinds = {
        {"direct", {}}, {"group", {}}, {"depth3", {}}, {"negative", {}}};
    for (size_t i = 0; i < checks; ++i) {
      const size_t doc = rng() % d.documents;
      const fga::ObjectRef object{"document", std::to_string(doc)};
      kinds[0].second.push_back(
          {{object, "viewer", {"user", std::to_string(d.direct_viewer[doc]), ""}, {}, {}}, true});
      const auto& editors = d.members[d.editor_group[doc]];
      kinds[1].second.push_back({{object,
                                  "editor",
                                  {"user", std::to_string(editors[rng() % editors.size()]), ""},
                                  {},
                                  {}},
                                 true});
      const auto& viewers = d.members[d.root_viewer_group[d.root_folder[doc]]];
      kinds[2].second.push_back({{object,
                                  "viewer",
                                  {"user", std::to_string(viewers[rng() % viewers.size()]), ""},
                                  {},
                                  {}},
                                 true});
      // A real user (known to the index) without access to this document.
      while (true) {
        fga::CheckRequest r{
            object, "viewer", {"user", std::to_string(rng() % d.users), ""}, {}, {}};
        auto got = fga::Check(*model, d.index, r);
        if (got && !got->allowed) {
          kinds[3].second.push_back({std::move(r), false});
          break;
        }
      }
    }
    for (auto& [kind, queries] : kinds) {
      size_t wrong = 0;
      for (const Query& q : queries) {  // warm-up, and a correctness check
        auto r = fga::Check(*model, d.index, q.request);
        if (!r || r->allowed != q.want) ++wrong;
      }
      if (wrong != 0) {
        std::fprintf(stderr, "%s: %zu of %zu answers unexpected\n", kind.c_str(), wrong,
                     queries.size());
        return 1;
      }
      const Figures f = Time(queries.size(), [&](size_t i) {
        auto r = fga::Check(*model, d.index, queries[i].request);
        if (!r) std::abort();
      });
      std::printf("size=%zu kind=%s p50_us=%.2f p99_us=%.2f checks_per_s=%.0f\n", n, kind.c_str(),
                  f.p50_us, f.p99_us, f.per_s);
    }
    const size_t lists = std::max<size_t>(10, checks / 100);
    std::vector<fga::ListObjectsRequest> list_requests;
    for (size_t i = 0; i < lists; ++i) {
      const size_t doc = rng() % d.documents;
      list_requests.push_back(
          {"document", "viewer", {"user", std::to_string(d.direct_viewer[doc]), ""}, {}, {}});
    }
    const Figures f = Time(lists, [&](size_t i) {
      auto r = fga::ListObjects(*model, d.index, list_requests[i]);
      if (!r || r->empty()) std::abort();
    });
    std::printf("size=%zu kind=list_objects p50_us=%.2f p99_us=%.2f checks_per_s=%.0f\n", n,
                f.p50_us, f.p99_us, f.per_s);
    std::fflush(stdout);
    if (argc > 4 && a == 3) {
      smallest = std::move(d);
      smallest_depth3 = std::move(kinds[2].second);
    } else if (argc > 4 && a == argc - 1) {
      largest = std::move(d);
      largest_depth3 = std::move(kinds[2].second);
    }
  }
  if (smallest && largest) {
    // Block 0 only warms; round r times block r + 1.
    constexpr size_t kRounds = 20, kWarmUp = 1000;
    const size_t block = std::max<size_t>(1, checks / (kRounds + 1));
    std::vector<double> small_us, large_us, discard;
    for (size_t round = 0; round < kRounds; ++round) {
      const size_t timed = (round + 1) * block;
      // Warmed on the checks about to be timed: the whole small index fits
      // in cache, as it does when it is all a server holds.
      TimeBlock(*model, *smallest, smallest_depth3, timed, std::min(block, kWarmUp), discard);
      TimeBlock(*model, *smallest, smallest_depth3, timed, block, small_us);
      // Warmed on the block before (timed in the previous round, or never):
      // the index's shared lines come back, the checks timed stay cold.
      TimeBlock(*model, *largest, largest_depth3, timed - block, std::min(block, kWarmUp), discard);
      TimeBlock(*model, *largest, largest_depth3, timed, block, large_us);
    }
    const double small_p50 = Median(small_us), large_p50 = Median(large_us);
    std::printf("growth small=%s large=%s small_p50_us=%.2f large_p50_us=%.2f ratio=%.2f\n",
                argv[3], argv[argc - 1], small_p50, large_p50, large_p50 / small_p50);
  }
  return 0;
}
