package io.ferrostate.examples;

/**
 * Parameters of {@link SessionTrackerJob}, and the generated event stream they define. Plain Java
 * (no Flink classes), so {@link Reference} can replay the very same stream.
 *
 * <p>Event {@code i}: user {@code hash(i) mod users}; a feature drawn from a skewed distribution
 * whose favourite differs per user; event time {@code START + i * stepMs}.
 */
public class SessionTrackerParams extends JobParams {
    private static final long serialVersionUID = 1L;

    /** Event time of event 0 (2023-11-14T22:13:20Z), a round number so windows line up. */
    public static final long START = 1_700_000_000_000L;

    static final String[] FEATURE_NAMES = {
        "search", "cart", "checkout", "login", "profile", "settings", "recommendations", "reviews",
        "wishlist", "notifications", "help", "orders", "payments", "coupons", "share", "chat",
        "maps", "video", "upload", "logout"
    };

    public static final String USAGE =
            "SessionTrackerJob options:\n"
                    + "  --events N               events to generate (default 200000)\n"
                    + COMMON_USAGE
                    + "  --users U                distinct users (default 1000)\n"
                    + "  --features F             distinct features (default 20)\n"
                    + "  --seed S                 seed of the generated stream (default 42)\n"
                    + "  --step-ms MS             event-time distance between events (default 10)\n"
                    + "  --summary-every N        events per user between summaries (default 100)\n"
                    + "  --parallelism P          parallelism of the tracker (default: the environment's)\n"
                    + "  --output PATH            write summaries to files under PATH (exactly once);"
                    + " without it they are printed";

    public int users = 1000;
    public int features = 20;
    public int summaryEvery = 100;

    public SessionTrackerParams() {
        super(200_000, 42, 10);
    }

    public static SessionTrackerParams fromArgs(String... args) {
        return fromArgs(new SessionTrackerParams(), Args.parse(args));
    }

    /** Reads the options into {@code p} (whose fields are the defaults); rejects unknown ones. */
    public static SessionTrackerParams fromArgs(SessionTrackerParams p, Args a) {
        p.readCommon(a);
        p.users = a.getInt("users", p.users);
        p.features = a.getInt("features", p.features);
        p.summaryEvery = a.getInt("summary-every", p.summaryEvery);
        a.rejectUnknown(USAGE);
        p.validate();
        return p;
    }

    public SessionTrackerParams validate() {
        validateCommon();
        require(users >= 1, "--users must be >= 1");
        require(features >= 1, "--features must be >= 1");
        require(summaryEvery >= 1, "--summary-every must be >= 1");
        return this;
    }

    public String featureName(int index) {
        return features <= FEATURE_NAMES.length
                ? FEATURE_NAMES[index]
                : String.format("feature-%03d", index);
    }

    /** Event {@code i} of the stream: a pure function of (seed, i). */
    public UserEvent event(long i) {
        long user = Gen.below(seed, i, 1, users);
        // The product of two uniform draws, scaled back: feature 0 is the most likely, the last
        // the least. Shifted by a per-user offset so each user has its own favourites.
        int skewed =
                (int)
                        ((long) Gen.below(seed, i, 2, features)
                                * Gen.below(seed, i, 3, features)
                                / features);
        int feature = (skewed + Gen.below(seed, user, 4, features)) % features;
        return new UserEvent(user, featureName(feature), START + i * stepMs);
    }
}
