// app/cli/main.cpp: whatever goes wrong, wherever it is raised (here: the launch environment,
// read inside train's option callback while the command line is parsed), the CLI ends with one
// `error: ...` line naming the variable and exit code 1, never an abort or a signal.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "run_cli.h"

TEST(Main, ABrokenLaunchEnvironmentIsAnErrorNotAnAbort) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"RANK=abc WORLD_SIZE=2", "RANK"},
        {"RANK=-1 WORLD_SIZE=2", "RANK"},
        {"RANK=2 WORLD_SIZE=2", "RANK"},
        {"RANK=0 WORLD_SIZE=two", "WORLD_SIZE"},
        {"RANK=0 WORLD_SIZE=2 LOCAL_RANK=1 LOCAL_WORLD_SIZE=1", "LOCAL_RANK"},
        {"RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=0", "MASTER_PORT"},
        {"RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=99999", "MASTER_PORT"},
        {"RANK=0 WORLD_SIZE=2 MASTER_PORT=29500", "MASTER_ADDR"},
        {"SLURM_PROCID=5 SLURM_NTASKS=2 SLURM_JOB_NODELIST=node1", "SLURM_PROCID"},
        {"SLURM_PROCID=0 SLURM_NTASKS=2 SLURM_JOB_NODELIST='node[1'", "SLURM_JOB_NODELIST"},
        {"OMPI_COMM_WORLD_RANK=0 OMPI_COMM_WORLD_SIZE=2", "MASTER_ADDR"},
        {"OMPI_COMM_WORLD_RANK=x OMPI_COMM_WORLD_SIZE=2 MASTER_ADDR=127.0.0.1", "OMPI_COMM_WORLD_RANK"},
    };
    for (const auto& [env, variable] : cases) {
        SCOPED_TRACE(env);
        // --print-config stops before any work: the environment is read while the options are parsed.
        const auto r =
            dilute::testing::runCli("train -m vit_nano_patch7_28 --print-config", "env -u MASTER_ADDR " + env);
        EXPECT_EQ(r.rc, 1) << r.text;
        EXPECT_NE(r.text.find("error: "), std::string::npos) << r.text;
        EXPECT_NE(r.text.find(variable), std::string::npos) << r.text;
        EXPECT_EQ(r.text.find("terminate called"), std::string::npos) << r.text;
    }
}

TEST(Main, AWordOrAFractionWhereANumberIsDueIsNamedAsSuch) {
    // CLI11's range check alone answered "Value abc not in range ..." for any of these.
    const std::vector<std::pair<std::string, std::string>> cases{
        {"eval -m vit_nano_patch7_28 --limit abc", "--limit: 'abc' is not a whole number"},
        {"train -m vit_nano_patch7_28 --epochs 1.5 --print-config", "--epochs: '1.5' is not a whole number"},
        {"train -m vit_nano_patch7_28 --lr abc --print-config", "--lr: 'abc' is not a number"},
        {"train -m vit_nano_patch7_28 --lr nan --print-config", "--lr: 'nan' is not a finite number"},
        {"train -m vit_nano_patch7_28 --epochs 0 --print-config", "--epochs: Value 0 not in range 1 to 100000"},
    };
    for (const auto& [args, message] : cases) {
        SCOPED_TRACE(args);
        const auto r = dilute::testing::runCli(args);
        EXPECT_NE(r.rc, 0) << r.text;
        EXPECT_NE(r.text.find(message), std::string::npos) << r.text;
    }
    EXPECT_EQ(dilute::testing::runCli("train -m vit_nano_patch7_28 --lr 2e-3 --epochs 2 --print-config").rc, 0);
}
