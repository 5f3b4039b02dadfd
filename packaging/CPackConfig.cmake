# `cpack -G DEB` (run in the build folder) makes a .deb with dilute, dilute-workbench and the
# desktop entry. Included from the top-level CMakeLists.txt.
include(GNUInstallDirs)
set(CPACK_PACKAGE_NAME "dilute")
set(CPACK_PACKAGE_VENDOR "Dilute")
set(CPACK_PACKAGE_CONTACT "Dilute maintainers <dilute@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Turn uninformative ViT attention layers into MLP-only blocks (NOSE + dilution)")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_DEBIAN_PACKAGE_SECTION "science")
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libtorch1.13, libopenblas0-pthread, libopencv-imgcodecs406, libopencv-imgproc406, libqt6widgets6, libqt6printsupport6, libqcustomplot2.1-qt6 | libqcustomplot2.1, libjpeg62-turbo, zlib1g")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_GENERATOR "DEB")
include(CPack)
