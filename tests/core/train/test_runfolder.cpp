// train/runfolder.h: one process writes a run folder at a time (RunLock), across processes too.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>
#include <filesystem>
#include <fstream>

#include "core/test_util.h"
#include "train/runfolder.h"
#include "util/error.h"

using namespace dilute;
using namespace dilute::train;
using dilute::testing::TempDir;

TEST(RunLock, OneProcessWritesARunFolderAtATime) {
    TempDir d("lock");
    {
        RunLock a(d.path());
        EXPECT_TRUE(a.held());
        EXPECT_TRUE(runFolderLocked(d.path()));
        try {
            RunLock b(d.path());
            ADD_FAILURE() << "a second lock on a locked run folder was granted";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(d.path()), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find("another process"), std::string::npos) << e.what();
        }
    }
    EXPECT_FALSE(runFolderLocked(d.path()));
    EXPECT_TRUE(RunLock(d.path()).held());
    EXPECT_FALSE(RunLock(d.file("missing")).held());
    // Another process holding it; killed, it lets go.
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        const int fd = ::open(d.path().c_str(), O_RDONLY | O_DIRECTORY);
        const bool ok = fd >= 0 && ::flock(fd, LOCK_EX) == 0;
        const char c = ok ? 'y' : 'n';
        (void)!::write(ready[1], &c, 1);
        ::sleep(30);
        ::_exit(0);
    }
    char c = 0;
    ASSERT_EQ(::read(ready[0], &c, 1), 1);
    EXPECT_EQ(c, 'y');
    EXPECT_TRUE(runFolderLocked(d.path()));
    EXPECT_THROW(RunLock(d.path()), Error);
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    ::close(ready[0]);
    ::close(ready[1]);
    EXPECT_FALSE(runFolderLocked(d.path()));
    EXPECT_TRUE(RunLock(d.path()).held());
}
