/* tool: a command that shows what it was granted: $NAME, its arguments, the files in /data. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  const char *name = getenv("NAME");
  printf("hello %s\n", name ? name : "(no NAME granted)");
  for (int i = 1; i < argc; i++) printf("arg: %s\n", argv[i]);
  DIR *dir = opendir("/data");
  if (dir == NULL) {
    printf("no /data granted\n");
    return 0;
  }
  for (struct dirent *entry; (entry = readdir(dir)) != NULL;) {
    if (entry->d_name[0] != '.') printf("file: /data/%s\n", entry->d_name);
  }
  closedir(dir);
  return 0;
}
