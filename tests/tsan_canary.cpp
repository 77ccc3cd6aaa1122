// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// A deliberate data race. In the ThreadSanitizer build, ctest expects TSan to
// report it: proof that the sanitizer is live, so a clean TSan run means
// something.
#include <cstdio>
#include <thread>

int racy_counter = 0;  // written by two threads without synchronisation, on purpose

int main() {
  std::thread a([] {
    for (int i = 0; i < 100000; ++i)
      racy_counter = racy_counter + 1;
  });
  std::thread b([] {
    for (int i = 0; i < 100000; ++i)
      racy_counter = racy_counter + 1;
  });
  a.join();
  b.join();
  std::printf("racy counter: %d\n", racy_counter);
}
