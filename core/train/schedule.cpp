#include "train/schedule.h"

#include <algorithm>
#include <cmath>

#include "util/error.h"

namespace dilute::train {

void DilutionSchedule::validate() const {
    if (shape != "linear" && shape != "cosine") throw Error("decay shape '" + shape + "': expected linear or cosine");
    if (unit != "epochs" && unit != "steps") throw Error("decay unit '" + unit + "': expected epochs or steps");
    if (start < 0) throw Error("decay start must be >= 0");
    if (end >= 0 && end <= start) throw Error("decay end must come after its start");
}

double DilutionSchedule::lambdaAt(long long step, long long spe, int total_epochs) const {
    const double e = end < 0 ? 0.75 * total_epochs : end;
    double t;  // position in the schedule's unit
    if (unit == "steps") {
        t = per_step ? double(step) : double((step / spe) * spe);
    } else {
        t = per_step ? double(step) / spe : double(step / spe);
    }
    const double p = std::clamp((t - start) / (e - start), 0.0, 1.0);
    if (p >= 1.0) return 0.0;
    return shape == "cosine" ? 0.5 * (1.0 + std::cos(M_PI * p)) : 1.0 - p;
}

}  // namespace dilute::train
