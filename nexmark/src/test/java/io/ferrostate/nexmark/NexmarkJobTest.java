package io.ferrostate.nexmark;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The job's own parsing of its arguments (the same jar runs on Flink 1.20 and 2.x). */
class NexmarkJobTest {

    @Test
    void keysTakeTheNextArgumentUnlessItIsAKey() {
        Map<String, String> p =
                NexmarkJob.parse(
                        new String[] {
                            "--query", "q5", "--await", "--seed", "-3", "--check-path", "file:///x"
                        });
        assertThat(p)
                .containsExactlyInAnyOrderEntriesOf(
                        Map.of(
                                "query", "q5",
                                "await", "true",
                                "seed", "-3",
                                "check-path", "file:///x"));
    }

    @Test
    void aValueWithoutItsKeyIsRefused() {
        assertThatThrownBy(() -> NexmarkJob.parse(new String[] {"q5"}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'q5'");
        assertThatThrownBy(() -> NexmarkJob.parse(new String[] {"--"}))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
