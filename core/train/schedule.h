#pragma once
// Dilution schedule (SPEC section 4): lambda of the selected blocks decays from 1 to 0.
// The authors: per epoch, lambda(e) = max(0, 1 - e / E_decay), E_decay = 299 of 400 epochs.
#include <string>

namespace dilute::train {

struct DilutionSchedule {
    std::string shape = "linear";  // linear | cosine
    std::string unit = "epochs";   // epochs | steps: the unit of start and end
    double start = 0.0;            // lambda = 1 until here
    double end = -1.0;             // lambda = 0 from here (< 0: 3/4 of the run, the authors' 299/400)
    bool per_step = true;          // update every step (else at epoch boundaries only)

    /// lambda at global `step` (0-based) with `steps_per_epoch`, for a run of `total_epochs`.
    double lambdaAt(long long step, long long steps_per_epoch, int total_epochs) const;
    void validate() const;  // throws dilute::Error
};

}  // namespace dilute::train
