// dilute eval: top-1 / top-5 / loss / images per second on a dataset split, or a fixed input
// tensor's logits. The job is core's (eval/job.h); the CLI's generic adapter runs it
// (cli/jobcommand.h) and this prints its summary.
#include <cstdio>

#include "cli/commands.h"
#include "eval/job.h"

namespace dilute::cli {

void printEval(const eval::EvalJobResult& r) {
    if (!r.logits_out.empty()) {
        std::printf("logits    %s [%lld,%lld] on %s\n", r.logits_out.c_str(), r.logits_rows, r.logits_cols,
                    r.device.c_str());
        return;
    }
    std::printf("data      %s\nimages    %lld\ntop-1     %.2f%%\ntop-5     %.2f%%\nloss      %.4f\nimages/s  %.1f\n",
                r.describe.c_str(), r.images, r.top1, r.top5, r.loss, r.images_per_s);
}

}  // namespace dilute::cli
