// The scalability verdict in plain words, from what the measurements support
// (scaling_evidence.h): first the shape the capacities show, then the efficiency
// X(N) / (N X(1)), then what limits scaling only as far as the chosen model and
// its intervals carry it: "limited by crosstalk" and a peak only with the full
// USL chosen, kappa's interval above 0 and a shape that is neither linear nor a
// plateau; and, when the sweep cannot tell contention from crosstalk, what to add.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "controller/scaling_evidence.h"

namespace horde {

struct ScalingAnalysis {
  std::vector<CapacitySample> samples;  // in the order measured
  std::optional<ShapeFinding> shape;    // on the samples sorted by n
  std::vector<CapacitySample> by_n;     // that order
  std::optional<ModelChoice> choice;    // none with fewer than 3 distinct n
  // The fit a user is shown: the chosen model, its peak kept only when the verdict predicts one.
  std::optional<UslFit> shown_fit() const;
  bool crosstalk_supported() const;  // the conditions for "limited by crosstalk"
};

// Intervals, shape and model choice for these steps (seeded: reproducible).
ScalingAnalysis analyse_scaling(std::vector<CapacitySample> samples,
                                uint32_t replicates = kBootstrapReplicates,
                                uint64_t seed = kBootstrapSeed);

struct ScalabilityVerdict {
  std::vector<double> efficiency;  // per sample, in the order given
  std::string text;
  bool passed = false;
};

// Efficiency per point is X(N) / (N X(1)); X(1) is the point with n == 1 or,
// without one, the smallest n's throughput per unit. Passes when the efficiency
// at the largest N is at least min_efficiency (a fraction, e.g. 0.8). noun
// names the unit in the text: "instances" or "agents".
ScalabilityVerdict judge_scalability(const ScalingAnalysis& a, double min_efficiency,
                                     const std::string& noun);

}  // namespace horde
