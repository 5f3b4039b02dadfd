// io/torchfile.cpp: a torch.save zip whose directory lies about data.pkl's size is refused before
// LibTorch's reader allocates what it claims, naming the file.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "core/test_util.h"
#include "io/weights.h"

using namespace dilute;

TEST(TorchFile, ALyingDirectoryIsRefusedBeforeAllocating) {
    const std::string golden = std::string(DILUTE_SOURCE_DIR) + "/tests/data/golden/plain.pth";
    auto bytes = dilute::testing::readBytes(golden);
    ASSERT_GT(bytes.size(), 100u);
    // The central directory entry of data.pkl: signature PK\1\2, the name at +46.
    size_t entry = 0;
    for (size_t i = 0; i + 46 < bytes.size(); ++i) {
        if (std::memcmp(&bytes[i], "PK\x01\x02", 4) != 0) continue;
        const size_t n = bytes[i + 28] | (bytes[i + 29] << 8);
        const std::string name(bytes.begin() + i + 46, bytes.begin() + i + 46 + n);
        if (name.size() >= 8 && name.compare(name.size() - 8, 8, "data.pkl") == 0) entry = i;
    }
    ASSERT_NE(entry, 0u) << "no directory entry for data.pkl";
    ASSERT_EQ(bytes[entry + 10] | (bytes[entry + 11] << 8), 0);           // torch.save stores records uncompressed
    const uint32_t claimed = static_cast<uint32_t>(bytes.size()) + 1000;  // more than the whole file
    std::memcpy(&bytes[entry + 20], &claimed, 4);
    std::memcpy(&bytes[entry + 24], &claimed, 4);
    dilute::testing::TempDir d("torchfile");
    dilute::testing::writeBytes(d.file("lying.pth"), bytes);
    io::OpenOptions o;
    o.heads = 2;
    const auto e = dilute::testing::errorText([&] { io::openModel(d.file("lying.pth"), o); });
    EXPECT_NE(e.find("lying.pth: data.pkl claims " + std::to_string(claimed) + " bytes, more than the file holds"),
              std::string::npos)
        << e;
    EXPECT_NO_THROW(io::openModel(golden, o));  // the honest file still reads
}

// Found by fuzz_torchfile: a zip whose storage record header is damaged made LibTorch's reader
// throw its own error past the reader; it is the reader's one-line error, naming the file.
TEST(TorchFile, ADamagedStorageRecordIsTheReadersError) {
    const std::string file =
        std::string(DILUTE_SOURCE_DIR) + "/tests/fuzz/corpus/torchfile/regress-corrupt-record-header";
    io::OpenOptions o;
    o.heads = 2;
    const auto e = dilute::testing::errorText([&] { io::openModel(file, o); });
    EXPECT_NE(e.find(file), std::string::npos) << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
}

// Found by fuzz_torchfile: a storage named twice, with more elements the second time, reached
// LibTorch's as_strided check; the reader refuses it first, naming the file and the storage.
TEST(TorchFile, AStorageNamedTwiceWithAnotherSizeIsRefused) {
    const std::string file = std::string(DILUTE_SOURCE_DIR) + "/tests/fuzz/corpus/torchfile/regress-sizes-strides";
    io::OpenOptions o;
    o.heads = 2;
    const auto e = dilute::testing::errorText([&] { io::openModel(file, o); });
    EXPECT_NE(e.find(file + ": storage 0 is named twice"), std::string::npos) << e;
}
