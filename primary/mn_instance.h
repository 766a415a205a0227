/* mn_instance: one machnetd per instance name.
 *
 * The instance lock, MN_RUN_DIR/<instance>.lock, is held (flock) for the
 * life of the process and names its pid. It is taken before EAL starts,
 * because EAL's own refusal (its prefix lock) comes only after it has
 * touched hugepages, and says less. Main thread; logs why it fails.
 */
#ifndef MN_INSTANCE_H
#define MN_INSTANCE_H

/* Creates MN_RUN_DIR (private to this user) and takes the lock of
 * instance. Its fd (keep it open), or -1 when another machnetd holds it or
 * it cannot be made. */
int mn_instance_lock(const char *instance);

/* Lets it go (the file stays; the next machnetd takes it again). */
void mn_instance_unlock(int fd);

#endif
