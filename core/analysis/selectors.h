#pragma once
// Block selectors behind one interface: NOSE (greedy transfer entropy, signed or |T|) and the
// baselines random K (seeded), K lowest attention entropy, first K.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "analysis/results.h"
#include "analysis/transfer.h"

namespace dilute::analysis {

/// Called after each greedy round with the selection so far (trace and blocks of the rounds done).
using RoundFn = std::function<void(const Selection&)>;

struct SelectorContext {
    int depth = 0;
    std::vector<int> candidates;              // blocks that still have attention
    const EntropyProfile* profile = nullptr;  // needed by "lowest"
    TransferEntropy* te = nullptr;            // needed by "nose" / "nose-abs"
    uint64_t seed = 0;                        // "random"
    const CancelToken* cancel = nullptr;
    StepFn step;    // progress of the search
    RoundFn round;  // NOSE: the selection after each greedy round
};

std::vector<std::string> selectorNames();
bool selectorNeedsTransfer(const std::string& name);
/// Runs the named selector for K blocks. Throws dilute::Error for an unknown name or a bad K.
Selection select(const std::string& name, int k, const SelectorContext& ctx);

/// Greedy forward selection (SPEC section 3): K rounds, each taking argmin key(T(S + {i})).
Selection nose(TransferEntropy& te, int k, bool absolute, const CancelToken* cancel = nullptr, const StepFn& step = {},
               const RoundFn& round = {});

/// The same greedy search maximising T(S): the worst choice by the criterion, a control for
/// whether T carries information at all (`dilute study`).
Selection maxTransfer(TransferEntropy& te, int k, const CancelToken* cancel = nullptr, const StepFn& step = {});

}  // namespace dilute::analysis
