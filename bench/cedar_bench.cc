// Cedar authorization latency and throughput on one core, on workloads
// shaped like the Cedar paper's (OOPSLA 2024) Google-Drive-like and
// GitHub-like applications, and on a growing policy set (10 to 100,000
// policies). Each workload is also written to OUT_DIR (policies, template
// links, entities, requests) so that bench/node/cedar_bench.mjs can run the
// same requests through the official engine (@cedar-policy/cedar-wasm).
//
// Usage: cedar_bench OUT_DIR [REQUESTS]
// Prints one line per workload: name, policies, p50 and p99 in µs, decisions/s
// (each the median over five timed passes of the requests).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "policy/cedar_entities.h"
#include "policy/cedar_parser.h"
#include "policy/cedar_policy_set.h"

namespace {

namespace cedar = bulwark::policy::cedar;
namespace fs = std::filesystem;

struct Workload {
  std::string name;
  std::string policies;  // Cedar text; templates carry @id
  std::string links;     // JSON array of {templateId, newId, values}
  std::string entities;  // JSON array
  std::string requests;  // JSON array of {principal, action, resource}
  std::vector<cedar::Request> parsed_requests;
};

std::string Uid(const std::string& type, const std::string& id) {
  return "{\"type\":\"" + type + "\",\"id\":\"" + id + "\"}";
}
std::string Ref(const std::string& type, const std::string& id) {
  return "{\"__entity\":" + Uid(type, id) + "}";
}

class EntityWriter {
 public:
  void Add(const std::string& type, const std::string& id, const std::string& attrs,
           const std::vector<std::pair<std::string, std::string>>& parents) {
    if (!out_.empty()) out_ += ",\n";
    out_ += "{\"uid\":" + Uid(type, id) + ",\"attrs\":{" + attrs + "},\"parents\":[";
    for (size_t i = 0; i < parents.size(); ++i) {
      out_ += (i ? "," : "") + Uid(parents[i].first, parents[i].second);
    }
    out_ += "]}";
  }
  std::string Json() const { return "[\n" + out_ + "\n]"; }

 private:
  std::string out_;
};

void AddRequest(Workload& w, const std::string& pt, const std::string& pid, const std::string& aid,
                const std::string& rt, const std::string& rid) {
  if (!w.requests.empty()) w.requests += ",\n";
  w.requests += "{\"principal\":" + Uid(pt, pid) + ",\"action\":" + Uid("Action", aid) +
                ",\"resource\":" + Uid(rt, rid) + "}";
  w.parsed_requests.push_back({{pt, pid}, {"Action", aid}, {rt, rid}});
}

std::string Set(const std::vector<std::string>& refs) {
  std::string out = "[";
  for (size_t i = 0; i < refs.size(); ++i) out += (i ? "," : "") + refs[i];
  return out + "]";
}

Workload Drive(std::mt19937& rng, int requests) {
  Workload w{"drive"};
  constexpr int kUsers = 1000, kGroups = 100, kFolders = 500, kDocs = 5000, kShares = 200;
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  EntityWriter e;
  for (int g = 0; g < kGroups; ++g) e.Add("Group", "g" + std::to_string(g), "", {});
  for (int u = 0; u < kUsers; ++u) {
    std::vector<std::pair<std::string, std::string>> groups;
    for (int k = 1 + pick(3); k > 0; --k)
      groups.push_back({"Group", "g" + std::to_string(pick(kGroups))});
    std::sort(groups.begin(), groups.end());
    groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
    e.Add("User", "u" + std::to_string(u), "", groups);
  }
  for (int f = 0; f < kFolders; ++f) {
    std::vector<std::pair<std::string, std::string>> parent;
    if (f > 0 && pick(10) < 7) parent.push_back({"Folder", "f" + std::to_string(pick(f))});
    e.Add("Folder", "f" + std::to_string(f), "", parent);
  }
  for (int d = 0; d < kDocs; ++d) {
    std::vector<std::string> viewers, editors;
    for (int k = pick(4); k > 0; --k) {
      viewers.push_back(pick(2) ? Ref("User", "u" + std::to_string(pick(kUsers)))
                                : Ref("Group", "g" + std::to_string(pick(kGroups))));
    }
    for (int k = pick(3); k > 0; --k)
      editors.push_back(Ref("User", "u" + std::to_string(pick(kUsers))));
    const std::string attrs = "\"owner\":" + Ref("User", "u" + std::to_string(pick(kUsers))) +
                              ",\"viewers\":" + Set(viewers) + ",\"editors\":" + Set(editors) +
                              ",\"is_public\":" + (pick(20) == 0 ? "true" : "false") +
                              ",\"locked\":" + (pick(50) == 0 ? "true" : "false");
    e.Add("Document", "d" + std::to_string(d), attrs,
          {{"Folder", "f" + std::to_string(pick(kFolders))}});
  }
  w.entities = e.Json();
  w.policies =
      R"(permit (principal, action, resource is Document) when { resource.owner == principal };
permit (principal, action == Action::"view", resource is Document) when { resource.is_public };
permit (principal, action == Action::"view", resource is Document) when { principal in resource.viewers };
permit (principal, action in [Action::"view", Action::"edit"], resource is Document)
  when { principal in resource.editors };
forbid (principal, action in [Action::"edit", Action::"delete"], resource is Document)
  when { resource.locked };
@id("share-folder")
permit (principal in ?principal, action == Action::"view", resource in ?resource);
)";
  w.links = "[";
  for (int s = 0; s < kShares; ++s) {
    w.links += std::string(s ? "," : "") + "{\"templateId\":\"share-folder\",\"newId\":\"share" +
               std::to_string(s) + "\",\"values\":{\"?principal\":" +
               Uid("Group", "g" + std::to_string(pick(kGroups))) +
               ",\"?resource\":" + Uid("Folder", "f" + std::to_string(pick(kFolders))) + "}}";
  }
  w.links += "]";
  const char* actions[] = {"view", "view", "view", "edit", "delete"};
  for (int r = 0; r < requests; ++r) {
    AddRequest(w, "User", "u" + std::to_string(pick(kUsers)), actions[pick(5)], "Document",
               "d" + std::to_string(pick(kDocs)));
  }
  return w;
}

Workload Github(std::mt19937& rng, int requests) {
  Workload w{"github"};
  constexpr int kUsers = 1000, kTeams = 100, kOrgs = 10, kRepos = 2000;
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  EntityWriter e;
  for (int o = 0; o < kOrgs; ++o) {
    e.Add("Org", "o" + std::to_string(o),
          std::string("\"allow_forking\":") + (pick(2) ? "true" : "false"), {});
  }
  for (int t = 0; t < kTeams; ++t)
    e.Add("Team", "t" + std::to_string(t), "", {{"Org", "o" + std::to_string(t % kOrgs)}});
  for (int u = 0; u < kUsers; ++u) {
    std::vector<std::pair<std::string, std::string>> teams;
    for (int k = 1 + pick(2); k > 0; --k)
      teams.push_back({"Team", "t" + std::to_string(pick(kTeams))});
    std::sort(teams.begin(), teams.end());
    teams.erase(std::unique(teams.begin(), teams.end()), teams.end());
    e.Add("User", "u" + std::to_string(u), "", teams);
  }
  auto members = [&](int n) {
    std::vector<std::string> out;
    for (int k = n; k > 0; --k) {
      out.push_back(pick(3) ? Ref("Team", "t" + std::to_string(pick(kTeams)))
                            : Ref("User", "u" + std::to_string(pick(kUsers))));
    }
    return Set(out);
  };
  for (int r = 0; r < kRepos; ++r) {
    const std::string attrs = "\"owner\":" + Ref("Org", "o" + std::to_string(pick(kOrgs))) +
                              ",\"readers\":" + members(1 + pick(4)) +
                              ",\"writers\":" + members(pick(3)) + ",\"admins\":" + members(1) +
                              ",\"is_private\":" + (pick(3) ? "true" : "false") +
                              ",\"archived\":" + (pick(30) == 0 ? "true" : "false");
    e.Add("Repo", "r" + std::to_string(r), attrs, {});
  }
  w.entities = e.Json();
  w.policies = R"(permit (principal, action == Action::"pull", resource is Repo)
  when { !resource.is_private || principal in resource.readers || principal in resource.writers ||
         principal in resource.admins };
permit (principal, action == Action::"push", resource is Repo)
  when { principal in resource.writers || principal in resource.admins };
permit (principal, action in [Action::"delete", Action::"settings"], resource is Repo)
  when { principal in resource.admins };
permit (principal, action == Action::"fork", resource is Repo)
  when { principal in resource.readers && resource.owner.allow_forking };
forbid (principal, action == Action::"push", resource is Repo) when { resource.archived };
)";
  w.links = "[]";
  const char* actions[] = {"pull", "pull", "pull", "push", "push", "fork", "delete", "settings"};
  for (int r = 0; r < requests; ++r) {
    AddRequest(w, "User", "u" + std::to_string(pick(kUsers)), actions[pick(8)], "Repo",
               "r" + std::to_string(pick(kRepos)));
  }
  return w;
}

// n policies, each for one user and one document: the index keeps a
// decision to the policies of its own principal.
Workload Growth(std::mt19937& rng, int n, int requests) {
  Workload w{"growth_" + std::to_string(n)};
  EntityWriter e;
  for (int i = 0; i < n; ++i) {
    w.policies += "permit (principal == User::\"u" + std::to_string(i) +
                  "\", action == Action::\"view\", resource == Document::\"d" + std::to_string(i) +
                  "\") when { context has mfa || resource.public };\n";
  }
  for (int i = 0; i < std::min(n, 1000); ++i)
    e.Add("Document", "d" + std::to_string(i), "\"public\":true", {});
  w.entities = e.Json();
  w.links = "[]";
  for (int r = 0; r < requests; ++r) {
    const int i = static_cast<int>(rng() % std::min(n, 1000));
    AddRequest(w, "User", "u" + std::to_string(i), "view", "Document", "d" + std::to_string(i));
  }
  return w;
}

void Write(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: cedar_bench OUT_DIR [REQUESTS]\n");
    return 2;
  }
  const fs::path out_dir = argv[1];
  const int requests = argc > 2 ? std::atoi(argv[2]) : 20000;
  fs::create_directories(out_dir);
  std::mt19937 rng(20261125);
  std::vector<Workload> workloads;
  workloads.push_back(Drive(rng, requests));
  workloads.push_back(Github(rng, requests));
  for (int n : {10, 100, 1000, 10000, 100000}) workloads.push_back(Growth(rng, n, requests));

  // BULWARK_BENCH_ONLY=NAME runs one workload (say, under a profiler).
  const char* only = std::getenv("BULWARK_BENCH_ONLY");
  for (Workload& w : workloads) {
    if (only != nullptr && w.name != only) continue;
    Write(out_dir / (w.name + ".cedar"), w.policies);
    Write(out_dir / (w.name + ".links.json"), w.links);
    Write(out_dir / (w.name + ".entities.json"), w.entities);
    Write(out_dir / (w.name + ".requests.json"), "[\n" + w.requests + "\n]");

    auto parsed = cedar::ParsePolicies(w.policies);
    auto entities = cedar::Entities::FromJson(w.entities);
    if (!parsed || !entities) {
      std::fprintf(stderr, "%s: %s\n", w.name.c_str(),
                   (!parsed ? parsed.error() : entities.error()).message().c_str());
      return 1;
    }
    // The links, read back from the JSON written for the peer.
    std::vector<cedar::TemplateLink> links;
    {
      auto value = cedar::ValueFromJson(w.links);
      if (!value) return 1;
      for (const cedar::Value& link : value->as_set()) {
        const auto& fields = link.as_record();
        cedar::TemplateLink l{fields.at("templateId").as_string(), fields.at("newId").as_string(),
                              std::nullopt, std::nullopt};
        const auto& values = fields.at("values").as_record();
        if (auto it = values.find("?principal"); it != values.end())
          l.principal = it->second.as_entity();
        if (auto it = values.find("?resource"); it != values.end())
          l.resource = it->second.as_entity();
        links.push_back(std::move(l));
      }
    }
    auto set = cedar::PolicySet::Create(*parsed, links);
    if (!set) {
      std::fprintf(stderr, "%s: %s\n", w.name.c_str(), set.error().message().c_str());
      return 1;
    }
    // Warm up, then time each decision, in several passes: a burst of noise
    // from the rest of the machine spoils a pass, not the figure, which is
    // the median of the passes' percentiles.
    constexpr int kPasses = 5;
    size_t allowed = 0;
    for (const auto& r : w.parsed_requests) allowed += (*set)->Authorize(r, *entities).allow;
    std::vector<double> p50s, p99s, rates;
    std::vector<double> us;
    us.reserve(w.parsed_requests.size());
    for (int pass = 0; pass < kPasses; ++pass) {
      us.clear();
      const auto start = std::chrono::steady_clock::now();
      for (const auto& r : w.parsed_requests) {
        const auto t0 = std::chrono::steady_clock::now();
        const cedar::Decision d = (*set)->Authorize(r, *entities);
        const auto t1 = std::chrono::steady_clock::now();
        us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
        if (pass == 0) allowed += d.allow;
      }
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::sort(us.begin(), us.end());
      p50s.push_back(us[us.size() / 2]);
      p99s.push_back(us[us.size() * 99 / 100]);
      rates.push_back(static_cast<double>(us.size()) / seconds);
    }
    auto median = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    std::printf("%s policies=%zu p50_us=%.2f p99_us=%.2f decisions_per_s=%.0f allowed=%.2f\n",
                w.name.c_str(), (*set)->size(), median(p50s), median(p99s), median(rates),
                static_cast<double>(allowed) / (2.0 * static_cast<double>(us.size())));
  }
  return 0;
}
